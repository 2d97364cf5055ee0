"""The shape of a norms result."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.schema import STRICT, Computed


@with_config(STRICT)
class NormsResult(Computed):
    tokens: list[str]
    layers: list[str]
    norms: list[list[float]]  # [layer][position]
    mean: list[float]  # per layer, over the positions
