"""The shape of a compare_prompts result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Candidate, Computed


class PromptRow(TypedDict):
    prompt: str
    tokens: list[str]
    position: int
    ranks: list[list[int]]  # [candidate][layer]
    probs: list[list[float]]
    log_ratio: list[float] | None


@with_config(STRICT)
class ComparePromptsResult(Computed):
    notes: list[str]
    layers: list[str]
    candidates: list[Candidate]
    ratio: list[str] | None
    prompts: list[PromptRow]
    log_base: float
