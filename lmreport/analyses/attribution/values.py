"""What prose may cite from a attribution result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def _attribution_row(data: dict[str, Any], method: str, settled: bool = True) -> dict[str, Any]:
    """A method's row; n/a when its scores did not settle (they are not a result to state) unless settled=False."""
    for row in data["methods"]:
        if row["name"] == method:
            if settled and not row.get("converged", True):
                raise NotApplicableHere(f"{method}'s scores did not settle ({unsettled(row)})")
            return row
    raise ReferenceProblem(f"this block has no method {method!r} (it has: "
                           f"{', '.join(r['name'] for r in data['methods'])})")


def unsettled(row: dict[str, Any]) -> str:
    """Why a method's scores are not stable, in numbers."""
    error = row["error_estimate"]
    estimated = ("their error was never estimated (no piece of the path was cut)" if error is None
                 else f"their estimated error is {error:.3g}")
    pieces = "the whole path" if row["pieces"] == 1 else f"{row['pieces']} pieces of the path"
    return (f"after {row['points']} points on {pieces}, {estimated} and their sum minus f(prompt) − f(baseline) "
            f"is {row['convergence_delta']:+.3g}, against {row['allowed']:.3g} allowed for each; raise max_steps")


def attribution_top(data: dict[str, Any], method: str) -> str:
    """the prompt token a method scores highest (n/a when others score within the scores' estimated error)"""
    row = _attribution_row(data, method)
    if row["top"] is None:
        raise NotApplicableHere(f"{method} scores {', '.join(map(repr, row['tied']))} within the estimated error of "
                                f"its scores ({row['error_estimate']:.3g}) of each other: no token is first")
    return TokenText(row["top"])


def attribution_score(data: dict[str, Any], method: str, token: str) -> float:
    """a method's score of a prompt token (its first occurrence)"""
    row = _attribution_row(data, method)
    if token not in data["tokens"]:
        raise NotApplicableHere(f"{token!r} is not a token of the prompt (tokens: "
                               f"{', '.join(map(repr, data['tokens']))})")
    return float(row["scores"][data["tokens"].index(token)])


def attribution_target(data: dict[str, Any]) -> str:
    """the next token the attributions explain"""
    return TokenText(data["target"]["token"])


def attribution_agree(data: dict[str, Any]) -> str:
    """'yes' if every signed method whose scores settled puts the same prompt token first, 'no' otherwise"""
    tops = {row["top"] for row in data["methods"] if row["name"] != "saliency" and row["top"] is not None}
    return "yes" if len(tops) <= 1 else "no"


def attribution_settled(data: dict[str, Any], method: str = "integrated_gradients") -> str:
    """'yes' if a method's scores settled within its tolerance (integrated gradients; the others always do)"""
    return "yes" if _attribution_row(data, method, settled=False).get("converged", True) else "no"


def attribution_points(data: dict[str, Any], method: str = "integrated_gradients") -> int:
    """the gradient points integrated gradients spent along the path"""
    row = _attribution_row(data, method, settled=False)
    if "points" not in row:
        raise ReferenceProblem(f"{method} does not integrate along a path; only integrated_gradients has points")
    return int(row["points"])


VALUES = {**MODEL, "top": attribution_top, "score": attribution_score, "target": attribution_target,
               "agree": attribution_agree, "settled": attribution_settled, "points": attribution_points}
