"""The shape of a ablation result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed, row


class Target(TypedDict):
    token: str
    prob: float
    rank: int


class Likely(TypedDict):
    token: str
    prob: float


class PromptVariant(TypedDict):
    index: int
    text: str
    change: row(int, int, str) | None  # [start, end, inserted text] of the prompt, or None
    n_tokens: int
    kl: float
    targets: list[Target]
    top: list[Likely]


@with_config(STRICT)
class AblationResult(Computed):
    prompt: str
    rule: str
    tokens: list[str]
    rows: list[PromptVariant]
    order: list[int]
