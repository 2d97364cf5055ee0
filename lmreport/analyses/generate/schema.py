"""The shape of a generate result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.attention.schema import AttentionData
from lmreport.analyses.schema import STRICT, Computed, Token


class Alternative(Token):
    prob: float


class Step(Token):
    prob: float
    prob_t1: float
    rank: int
    alternatives: list[Alternative]


@with_config(STRICT)
class GenerateResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    steps: list[Step]
    text: str
    temperature: float
    attention: AttentionData | None
    distribution: str
