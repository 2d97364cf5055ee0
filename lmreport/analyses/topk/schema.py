"""The shape of a topk result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed


class Prediction(TypedDict):
    rank: int
    id: int
    token: str
    prob: float
    logit: float


@with_config(STRICT)
class TopkResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    position: int
    temperature: float
    entropy: float
    predictions: list[Prediction]
