"""What prose may cite from a heads result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_block, checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere


def heads_top(data: dict[str, Any]) -> str:
    """the head with the largest direct contribution in size, of either sign (it may push against the token:
    see top_for and top_against), as 'layer L, head H'"""
    return f"layer {data['top']['layer']}, head {data['top']['head']}"


def _signed(data: dict[str, Any], sign: int) -> tuple[int, int, float]:
    """(layer from 1, head, value) of the head whose contribution is largest in the direction of sign."""
    cells = [(layer, head, value) for layer, row in enumerate(data["contributions"], 1)
             for head, value in enumerate(row) if value * sign > 0]
    if not cells:
        raise NotApplicableHere(f"no head contributes {'for' if sign > 0 else 'against'} the token")
    return max(cells, key=lambda cell: cell[2] * sign)


def heads_top_for(data: dict[str, Any]) -> str:
    """the head whose direct contribution raises the logit (or logit difference) most, as 'layer L, head H'"""
    layer, head, _ = _signed(data, 1)
    return f"layer {layer}, head {head}"


def heads_top_against(data: dict[str, Any]) -> str:
    """the head whose direct contribution lowers the logit (or logit difference) most, as 'layer L, head H'"""
    layer, head, _ = _signed(data, -1)
    return f"layer {layer}, head {head}"


def heads_top_for_value(data: dict[str, Any]) -> float:
    """the largest positive direct contribution of a head"""
    return float(_signed(data, 1)[2])


def heads_top_against_value(data: dict[str, Any]) -> float:
    """the most negative direct contribution of a head"""
    return float(_signed(data, -1)[2])


def heads_contribution(data: dict[str, Any], layer: int, head: int) -> float:
    """a head's direct contribution to the logit (or logit difference) at a layer (block 1 to n) and head (from
    0); -1 is the last of either"""
    row = data["contributions"][checked_block(layer, len(data["contributions"]))]
    return float(row[checked_index(head, len(row), "head")])


def heads_share(data: dict[str, Any]) -> float:
    """the heads' summed direct contribution as a share of the logit (or logit difference)"""
    if not data["logit"]:
        raise NotApplicableHere("the logit is 0: the heads' share of it is undefined")
    return float(data["heads_total"] / data["logit"])


def heads_top_value(data: dict[str, Any]) -> float:
    """the direct contribution of the head `top` names (of either sign)"""
    return float(data["top"]["value"])


VALUES = {**MODEL, "top": heads_top, "top_value": heads_top_value, "contribution": heads_contribution,
          "share": heads_share, "top_for": heads_top_for, "top_against": heads_top_against,
          "top_for_value": heads_top_for_value, "top_against_value": heads_top_against_value}
