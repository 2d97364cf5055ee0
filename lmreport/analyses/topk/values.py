"""What prose may cite from a topk result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import PROMPT_TOKENS
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def topk_top(data: dict[str, Any]) -> str:
    """the most likely next token"""
    return TokenText(data["predictions"][0]["token"])


def topk_top_prob(data: dict[str, Any]) -> float:
    """probability of the most likely next token"""
    return float(data["predictions"][0]["prob"])


def _prediction(data: dict[str, Any], token: str) -> dict[str, Any]:
    for p in data["predictions"]:
        if p["token"] == token:
            return p
    raise NotApplicableHere(f"{token!r} is not among the {len(data['predictions'])} tokens shown (raise k)")


def topk_prob(data: dict[str, Any], token: str) -> float:
    """probability of a token among the k shown"""
    return float(_prediction(data, token)["prob"])


def topk_rank(data: dict[str, Any], token: str) -> int:
    """rank of a token among the k shown (1 = most likely)"""
    return int(_prediction(data, token)["rank"])


def topk_entropy(data: dict[str, Any]) -> float:
    """entropy of the next-token distribution (at the block's temperature), in nats"""
    return float(data["entropy"])


def topk_temperature(data: dict[str, Any]) -> float:
    """the temperature the logits were divided by before the softmax (1: the model's own distribution)"""
    return float(data.get("temperature", 1.0))


def topk_logit(data: dict[str, Any], token: str) -> float:
    """logit of a token among the k shown (before any temperature)"""
    return float(_prediction(data, token)["logit"])


def topk_mass(data: dict[str, Any], k: int = 0) -> float:
    """total probability of the k most likely tokens (0, the default: all those shown)"""
    shown = data["predictions"]
    k = k or len(shown)
    if not 1 <= k <= len(shown):
        raise ReferenceProblem(f"k {k} is out of range: the block shows {len(shown)} tokens (raise its k)")
    return float(sum(p["prob"] for p in shown[:k]))


VALUES = {**MODEL, **PROMPT_TOKENS, "top": topk_top, "top_prob": topk_top_prob, "prob": topk_prob,
        "rank": topk_rank, "logit": topk_logit, "mass": topk_mass, "entropy": topk_entropy,
        "temperature": topk_temperature}
