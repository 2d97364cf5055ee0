"""What prose may cite from a ablation result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import ReferenceProblem, TokenText


def _ablation_row(data: dict[str, Any], variant: int) -> dict[str, Any]:
    return data["rows"][checked_index(variant, len(data["rows"]), "variant")]


def ablation_most(data: dict[str, Any]) -> str:
    """the variant that moves the next-token distribution most (largest KL divergence from the base prompt)"""
    if len(data["order"]) < 2:
        raise ReferenceProblem("this block has no variants")
    return str(data["rows"][data["order"][1]]["text"])


def ablation_prob(data: dict[str, Any], token: str, variant: int = 0) -> float:
    """probability of a followed token after a variant (0: the base prompt; 1, 2...: the variants as made, e.g.
    for drop_word 1 is the prompt without its first word)"""
    return float(_ablation_target(data, token, variant)["prob"])


def _ablation_target(data: dict[str, Any], token: str, variant: int) -> dict[str, Any]:
    for target in _ablation_row(data, variant)["targets"]:
        if target["token"] == token:
            return target
    raise ReferenceProblem(f"{token!r} is not one of the block's tokens ({', '.join(map(repr, data['tokens']))})")


def ablation_kl(data: dict[str, Any], variant: int) -> float:
    """KL divergence of a variant's next-token distribution from the base prompt's (nats; variants numbered as
    for prob)"""
    return float(_ablation_row(data, variant)["kl"])


def ablation_least(data: dict[str, Any]) -> str:
    """the variant that moves the next-token distribution least (smallest KL divergence from the base prompt)"""
    if len(data["order"]) < 2:
        raise ReferenceProblem("this block has no variants")
    return str(data["rows"][data["order"][-1]]["text"])


def ablation_top(data: dict[str, Any], variant: int = 0) -> str:
    """the most likely next token after a variant (0: the base prompt)"""
    return TokenText(_ablation_row(data, variant)["top"][0]["token"])


def ablation_rank(data: dict[str, Any], token: str, variant: int = 0) -> int:
    """rank of a followed token after a variant (1: the most likely)"""
    return int(_ablation_target(data, token, variant)["rank"])


VALUES = {**MODEL, "most": ablation_most, "least": ablation_least, "prob": ablation_prob, "rank": ablation_rank,
            "kl": ablation_kl, "top": ablation_top}
