"""The shape of a attention result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed


class AttentionData(TypedDict):
    """The weights of every layer and head (rounded for drawing) and what the views open on."""

    tokens: list[str]
    input_ids: list[int]
    n_layers: int
    n_heads: int
    views: list[str]
    layer: int  # a block, counted from 1
    layers: list[int]
    attention: list[list[list[list[float]]]]  # [layer][head][query][key]


@with_config(STRICT)
class AttentionResult(AttentionData, Computed):
    kv_heads: int
    head: NotRequired[int]
    focus: NotRequired[str]
