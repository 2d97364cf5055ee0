"""The shape of a heads result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed, Token


class Top(TypedDict):
    layer: int  # a block, counted from 1
    head: int
    value: float


@with_config(STRICT)
class HeadsResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    target: Token
    contrast: Token | None
    quantity: str
    layers: list[int]
    contributions: list[list[float]]  # [layer][head]
    logit: float
    heads_total: float
    top: Top
    attention: list[list[list[float]]]  # [layer][head][key], from the last position
    softcap: bool
