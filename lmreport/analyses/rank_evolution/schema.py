"""The shape of a rank_evolution result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.schema import STRICT, Candidate, Computed


class RankedCandidate(Candidate):
    ranks: list[int]  # per layer
    probs: list[float]


@with_config(STRICT)
class RankEvolutionResult(Computed):
    notes: list[str]
    tokens: list[str]
    input_ids: list[int]
    layers: list[str]
    output_ids: list[int]
    output_tokens: list[str]
    output_ranks: list[list[int]]  # [layer][position]
    output_probs: list[list[float]]
    position: int | None
    candidates: list[RankedCandidate]
