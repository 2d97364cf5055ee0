"""The shape of a logit_lens result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.schema import STRICT, Computed


@with_config(STRICT)
class LogitLensResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    layers: list[str]
    top_ids: list[list[list[int]]]  # [layer][position][k]
    top_tokens: list[list[list[str]]]
    top_probs: list[list[list[float]]]
    gain_changed: list[list[int]] | None  # [row, position] cells whose top token changes without the gain
