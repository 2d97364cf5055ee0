"""The shape of a neurons result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed


class Contributor(TypedDict):
    layer: int  # a block, counted from 1
    neuron: int
    activation: float
    weight: float
    contribution: float


class Contributions(TypedDict):
    position: int
    token_id: int
    token: str
    neurons: list[Contributor]
    total_by_layer: list[float]


class Factors(TypedDict):
    n: int
    token_weights: list[list[float]]  # [factor][position]
    layer_share: list[list[float]]  # [factor][layer]
    reconstruction_error: float
    clipped_negative: bool


@with_config(STRICT)
class NeuronsResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    n_layers: int
    d_ff: int
    top_neurons: list[list[list[int]]]  # [layer][position][top]
    top_values: list[list[list[float]]]
    lowest: float
    highest: float
    contributions: Contributions | None  # None for an encoder
    factors: Factors
    neuron_value: str
