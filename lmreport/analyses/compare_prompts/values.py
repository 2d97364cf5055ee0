"""What prose may cite from a compare_prompts result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index, find_candidate
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def _prompt_row(data: dict[str, Any], prompt: int) -> dict[str, Any]:
    return data["prompts"][checked_index(prompt, len(data["prompts"]), "prompt")]


def _candidate_column(data: dict[str, Any], token: str) -> int:
    return data["candidates"].index(find_candidate(data, token))


def prompts_prob(data: dict[str, Any], prompt: int, token: str, layer: int = -1) -> float:
    """probability of a candidate after prompt number `prompt` (0 is the first), at a layer"""
    probs = _prompt_row(data, prompt)["probs"][_candidate_column(data, token)]
    return float(probs[checked_index(layer, len(probs), "layer")])


def prompts_rank(data: dict[str, Any], prompt: int, token: str, layer: int = -1) -> int:
    """rank of a candidate after prompt number `prompt`, at a layer (1 = most likely)"""
    ranks = _prompt_row(data, prompt)["ranks"][_candidate_column(data, token)]
    return int(ranks[checked_index(layer, len(ranks), "layer")])


def prompts_ratio(data: dict[str, Any], prompt: int, layer: int = -1) -> float:
    """ln(p_a / p_b) of the block's ratio after a prompt, at a layer"""
    ratios = _prompt_row(data, prompt)["log_ratio"]
    if ratios is None:
        raise ReferenceProblem("the block has no ratio option")
    return float(ratios[checked_index(layer, len(ratios), "layer")])


def prompts_mass(data: dict[str, Any], prompt: int, layer: int = -1) -> float:
    """total probability of all the block's candidates after a prompt, at a layer"""
    return sum(prompts_prob(data, prompt, c["text"], layer) for c in data["candidates"])


def _ratios(data: dict[str, Any], layer: int) -> list[float]:
    return [prompts_ratio(data, i, layer) for i in range(len(data["prompts"]))]


def prompts_max_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the largest ln(p_a / p_b) over the block's prompts, at a layer"""
    return max(_ratios(data, layer))


def prompts_min_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the smallest ln(p_a / p_b) over the block's prompts, at a layer"""
    return min(_ratios(data, layer))


def prompts_most(data: dict[str, Any], layer: int = -1) -> str:
    """the prompt with the largest ln(p_a / p_b), at a layer (it may still prefer b: see prefers)"""
    ratios = _ratios(data, layer)
    return str(data["prompts"][max(range(len(ratios)), key=lambda i: ratios[i])]["prompt"])


def prompts_least(data: dict[str, Any], layer: int = -1) -> str:
    """the prompt with the smallest ln(p_a / p_b), at a layer (it may still prefer a: see prefers)"""
    ratios = _ratios(data, layer)
    return str(data["prompts"][min(range(len(ratios)), key=lambda i: ratios[i])]["prompt"])


def prompts_prefers(data: dict[str, Any], prompt: int, layer: int = -1) -> str:
    """the candidate of the block's ratio that is more likely after a prompt, at a layer (a if ln(p_a / p_b) > 0,
    b if < 0; n/a when they are equal)"""
    ratio = prompts_ratio(data, prompt, layer)
    if ratio == 0:
        raise NotApplicableHere("the two candidates are equally likely")
    a, b = data["ratio"]
    return TokenText(a if ratio > 0 else b)


def prompts_preferring(data: dict[str, Any], token: str, layer: int = -1) -> int:
    """how many of the block's prompts make a candidate of its ratio the more likely of the two, at a layer"""
    if data["ratio"] is None:
        raise ReferenceProblem("the block has no ratio option")
    if token not in data["ratio"]:
        raise ReferenceProblem(f"{token!r} is not one of the block's ratio ({', '.join(map(repr, data['ratio']))})")
    return sum(1 for i in range(len(data["prompts"])) if _prefers_or_none(data, i, layer) == token)


def _prefers_or_none(data: dict[str, Any], prompt: int, layer: int) -> str | None:
    try:
        return prompts_prefers(data, prompt, layer)
    except NotApplicableHere:
        return None


VALUES = {**MODEL, "prob": prompts_prob, "rank": prompts_rank, "ratio": prompts_ratio,
                   "mass": prompts_mass, "max_ratio": prompts_max_ratio, "min_ratio": prompts_min_ratio,
                   "most": prompts_most, "least": prompts_least, "largest_ratio": prompts_most,
                   "smallest_ratio": prompts_least, "prefers": prompts_prefers, "preferring": prompts_preferring}
