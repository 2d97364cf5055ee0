"""What prose may cite from a attribution result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def _attribution_row(data: dict[str, Any], method: str) -> dict[str, Any]:
    for row in data["methods"]:
        if row["name"] == method:
            return row
    raise ReferenceProblem(f"this block has no method {method!r} (it has: "
                           f"{', '.join(r['name'] for r in data['methods'])})")


def attribution_top(data: dict[str, Any], method: str) -> str:
    """the prompt token a method scores highest"""
    return TokenText(_attribution_row(data, method)["top"])


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
    """'yes' if every signed method puts the same prompt token first, 'no' otherwise"""
    tops = {row["top"] for row in data["methods"] if row["name"] != "saliency"}
    return "yes" if len(tops) <= 1 else "no"


VALUES = {**MODEL, "top": attribution_top, "score": attribution_score, "target": attribution_target,
               "agree": attribution_agree}
