"""The shape of a attribution result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed, Token


class Scored(Token):
    prob: float


class Passes(TypedDict):
    forward: int
    backward: int
    inputs: int


class Spent(Passes):
    planned: Passes


class Method(TypedDict):
    name: str
    label: str
    measures: str
    scores: list[float]  # per position
    passes: Spent
    top: str | None  # None: the scores did not settle, or the highest are tied within their error
    tied: NotRequired[list[str]]  # the tokens scored within the estimated error of the highest, highest first
    # integrated gradients only (paths.py): the points spent, the pieces of the path, the error allowed, the
    # scores' sum minus f(prompt) - f(baseline), their estimated error (None: never estimated), and whether
    # both are within what is allowed. The sampled methods have an error estimate too (two seeded runs).
    points: NotRequired[int]
    pieces: NotRequired[int]
    allowed: NotRequired[float]
    convergence_delta: NotRequired[float]
    error_estimate: NotRequired[float | None]
    converged: NotRequired[bool]


@with_config(STRICT)
class AttributionResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    target: Scored
    contrast: Scored | None
    quantity: str
    f_prompt: float
    f_baseline: float | None
    baseline_token: Token
    methods: list[Method]


INTEGRATED = ("points", "pieces", "allowed", "convergence_delta", "error_estimate", "converged")
SAMPLED = ("shapley", "lime", "kernel_shap")  # two seeded runs: an error estimate, no more


def consistent(data: dict[str, Any]) -> list[str]:
    """Every method scores every token; a top token is one of them, the highest-scored; integrated gradients
    say how they settled, and only a method that settled names its top token."""
    n = len(data["tokens"])
    problems = [] if len(data["input_ids"]) == n else [f"{len(data['input_ids'])} input ids for {n} tokens"]
    for row in data["methods"]:
        name = row["name"]
        if len(row["scores"]) != n:
            problems.append(f"{name}: {len(row['scores'])} scores for {n} tokens")
            continue
        given = [key for key in INTEGRATED if key in row]
        expected = INTEGRATED if name == "integrated_gradients" else ("error_estimate",) if name in SAMPLED else ()
        if given != list(expected):
            problems.append(f"{name}: has {', '.join(given) or 'none'} of {', '.join(INTEGRATED)}, not "
                            f"{', '.join(expected) or 'none'}")
        if name in SAMPLED and row.get("error_estimate") is None:
            problems.append(f"{name}: a sampled method has no error estimate")
        converged = row.get("converged", True)
        if converged and row.get("error_estimate", 0.0) is None:
            problems.append(f"{name}: settled with no error estimate")
        tied = row.get("tied")
        if tied is not None and (row["top"] is not None or len(tied) < 2 or not set(tied) <= set(data["tokens"])):
            problems.append(f"{name}: a tie must name two tokens of the prompt or more, and no top token")
        if converged and tied is None and row["top"] not in data["tokens"]:
            problems.append(f"{name}: its top token is not a token of the prompt")
        elif converged and tied is None and max(
                s for s, t in zip(row["scores"], data["tokens"], strict=True) if t == row["top"]) < max(row["scores"]):
            problems.append(f"{name}: its top token is not the highest-scored")
        if not converged and row["top"] is not None:
            problems.append(f"{name}: names a top token though its scores did not settle")
    return problems
