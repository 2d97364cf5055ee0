"""What prose may cite from a hidden_states result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import PROMPT_TOKENS, checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere


def _cell(rows: list[list[float]], layer: int, position: int) -> float:
    row = rows[checked_index(layer, len(rows), "layer")]
    return float(row[checked_index(position, len(row), "position")])


def hidden_norm(data: dict[str, Any], layer: int = -1, position: int = -1) -> float:
    """length (L2 norm) of a token's residual-stream vector at a layer"""
    return _cell(data["norms"], layer, position)


def hidden_cos_last(data: dict[str, Any], layer: int, position: int = -1) -> float:
    """cosine similarity of a token's vector at a layer to its vector at the last row"""
    return _cell(data["cos_last"], layer, position)


def hidden_cos_next(data: dict[str, Any], layer: int, position: int = -1) -> float:
    """cosine similarity of a token's vector at a layer to its vector one layer up"""
    return _cell(data["cos_next"], layer, position)


def hidden_min_cos_next(data: dict[str, Any], position: int = -1, start: int = 0) -> float:
    """the smallest cosine similarity between neighbouring layers for a token, over its layers from `start`
    (0: from the embeddings) to the last pair"""
    layers = range(checked_index(start, len(data["cos_next"]), "layer"), len(data["cos_next"]))
    return min(hidden_cos_next(data, layer, position) for layer in layers)


def hidden_first_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the first token's vector length over the mean length of the others' at a layer"""
    row = data["norms"][checked_index(layer, len(data["norms"]), "layer")]
    if len(row) < 2:
        raise NotApplicableHere("the prompt is one token: there is no other to compare with")
    others = sum(row[1:]) / (len(row) - 1)
    if others <= 0:
        raise NotApplicableHere("the other tokens' vectors all have length 0 at this layer: no ratio")
    return float(row[0] / others)


def _first_ratios(data: dict[str, Any]) -> list[float]:
    return [hidden_first_ratio(data, layer) for layer in range(len(data["norms"]))]


def hidden_max_first_ratio(data: dict[str, Any]) -> float:
    """the largest first_ratio over all layers"""
    return max(_first_ratios(data))


def hidden_max_first_ratio_layer(data: dict[str, Any]) -> int:
    """the layer where the first token is largest next to the others (0: the embeddings)"""
    ratios = _first_ratios(data)
    return ratios.index(max(ratios))


VALUES = {**MODEL, **PROMPT_TOKENS, "norm": hidden_norm, "cos_last": hidden_cos_last,
                 "cos_next": hidden_cos_next, "min_cos_next": hidden_min_cos_next, "first_ratio": hidden_first_ratio,
                 "max_first_ratio": hidden_max_first_ratio, "max_first_ratio_layer": hidden_max_first_ratio_layer}
