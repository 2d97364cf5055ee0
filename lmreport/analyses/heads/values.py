"""What prose may cite from a heads result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_block, checked_index
from lmreport.glue.sizes import MODEL


def heads_top(data: dict[str, Any]) -> str:
    """the head with the largest direct contribution (either sign), as 'layer L, head H'"""
    return f"layer {data['top']['layer']}, head {data['top']['head']}"


def heads_contribution(data: dict[str, Any], layer: int, head: int) -> float:
    """a head's direct contribution to the logit (or logit difference) at a layer (block 1 to n) and head (from
    0); -1 is the last of either"""
    row = data["contributions"][checked_block(layer, len(data["contributions"]))]
    return float(row[checked_index(head, len(row), "head")])


def heads_share(data: dict[str, Any]) -> float:
    """the heads' summed direct contribution as a share of the logit (or logit difference)"""
    return float(data["heads_total"] / data["logit"]) if data["logit"] else float("nan")


def heads_top_value(data: dict[str, Any]) -> float:
    """the strongest head's direct contribution"""
    return float(data["top"]["value"])


VALUES = {**MODEL, "top": heads_top, "top_value": heads_top_value, "contribution": heads_contribution,
         "share": heads_share}
