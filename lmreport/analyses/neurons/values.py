"""What prose may cite from a neurons result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def neurons_lowest(data: dict[str, Any]) -> float:
    """the lowest neuron value anywhere (every layer, token and neuron)"""
    return float(data["lowest"])


def neurons_highest(data: dict[str, Any]) -> float:
    """the highest neuron value anywhere"""
    return float(data["highest"])


def _contributor(data: dict[str, Any], rank: int) -> dict[str, Any]:
    if not data["contributions"]:
        raise NotApplicableHere("the model predicts no token: there are no contributions")
    raising = [n for n in data["contributions"]["neurons"] if n["contribution"] > 0]
    if not 1 <= rank <= len(raising):
        raise NotApplicableHere(f"rank {rank} is out of range: the block lists {len(raising)} neurons that raise the "
                               "logit (raise its contributors)")
    return raising[rank - 1]


def neurons_contributor(data: dict[str, Any], rank: int = 1) -> str:
    """the neuron that raises the output token's logit most directly (rank 1) or the rank-th most, as
    'layer L, neuron N' (blocks from 1)"""
    n = _contributor(data, rank)
    return f"layer {n['layer']}, neuron {n['neuron']}"


def neurons_contributor_layer(data: dict[str, Any], rank: int = 1) -> int:
    """the layer (block, from 1) of that neuron"""
    return int(_contributor(data, rank)["layer"])


def neurons_contribution(data: dict[str, Any], rank: int = 1) -> float:
    """that neuron's direct contribution to the logit"""
    return float(_contributor(data, rank)["contribution"])


def _factor(data: dict[str, Any], factor: int) -> tuple[list[float], list[float]]:
    """A factor's (token weights, layer parts), numbered from 1 as the figure numbers them."""
    factors = data["factors"]
    if not 1 <= factor <= factors["n"]:
        raise ReferenceProblem(f"factor {factor} is out of range: the block has factors 1 to {factors['n']}")
    weights, parts = factors["token_weights"][factor - 1], factors["layer_part"][factor - 1]
    if max(weights, default=0) <= 0 or max(parts, default=0) <= 0:
        raise NotApplicableHere(f"factor {factor} is 0 everywhere: this prompt has fewer patterns")
    return weights, parts


def neurons_factor_layer(data: dict[str, Any], factor: int) -> int:
    """the layer (block, from 1) where an NMF factor (from 1, as the figure numbers them) makes the largest part of
    what the factors rebuild, compared with the other factors: the layer it stands for"""
    _, parts = _factor(data, factor)
    return max(range(len(parts)), key=lambda i: parts[i]) + 1


def neurons_factor_part(data: dict[str, Any], factor: int) -> float:
    """an NMF factor's part (0 to 1) of what all the factors rebuild of its factor_layer"""
    _, parts = _factor(data, factor)
    return float(max(parts))


def neurons_factor_token(data: dict[str, Any], factor: int) -> str:
    """the token where an NMF factor is strongest"""
    weights, _ = _factor(data, factor)
    return TokenText(data["tokens"][max(range(len(weights)), key=lambda i: weights[i])])


def neurons_token(data: dict[str, Any]) -> str:
    """the output token whose logit the contributions explain"""
    contributions = data.get("contributions")
    if not contributions:
        raise NotApplicableHere("this block explains no output token (the model is an encoder)")
    return TokenText(contributions["token"])


VALUES = {**MODEL, "token": neurons_token, "lowest": neurons_lowest, "highest": neurons_highest,
           "contributor": neurons_contributor, "contribution": neurons_contribution,
           "contributor_layer": neurons_contributor_layer,
           "factor_layer": neurons_factor_layer, "factor_part": neurons_factor_part,
           "factor_token": neurons_factor_token}
