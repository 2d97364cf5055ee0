"""The shape of a compare_tokens result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.schema import STRICT, Candidate, Computed


class RankedCandidate(Candidate):
    ranks: list[int]  # per layer
    probs: list[float]


@with_config(STRICT)
class CompareTokensResult(Computed):
    notes: list[str]
    tokens: list[str]
    input_ids: list[int]
    position: int
    layers: list[str]
    candidates: list[RankedCandidate]
    leader: list[int]  # per layer, the index of the leading candidate
    winner: int
    leads_from_layer: int
