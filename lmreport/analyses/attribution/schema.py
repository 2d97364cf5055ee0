"""The shape of a attribution result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed, Token


class Scored(Token):
    prob: float


class Passes(TypedDict):
    forward: int
    backward: int
    inputs: int


class Spent(Passes):
    planned: Passes


class Method(TypedDict):
    name: str
    label: str
    measures: str
    convergence_delta: NotRequired[float]
    scores: list[float]  # per position
    passes: Spent
    top: str


@with_config(STRICT)
class AttributionResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    target: Scored
    contrast: Scored | None
    quantity: str
    f_prompt: float
    f_baseline: float | None
    baseline_token: Token
    methods: list[Method]
