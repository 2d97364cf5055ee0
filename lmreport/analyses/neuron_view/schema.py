"""The shape of a neuron_view result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config

from lmreport.analyses.schema import STRICT, Computed


@with_config(STRICT)
class NeuronViewResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    layers: list[int]  # blocks, counted from 1
    layer: int
    head: int
    bidirectional: bool
    scale: float
    attention: list[list[list[list[float]]]]  # [layer][head][query][key]
    queries: list[list[list[list[float]]]]  # [layer][head][position][d_head]
    keys: list[list[list[list[float]]]]
