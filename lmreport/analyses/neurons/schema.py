"""The shape of a neurons result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed, within


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
    token_weights: list[list[float]]  # [factor][position], each factor's largest 1
    layer_part: list[list[float]]  # [factor][layer]: its part of what the factors rebuild of the layer
    part: list[float]  # [factor]: its part of all they rebuild, every layer scaled to the same RMS; falling
    layer_scale: list[float]  # [layer]: the RMS of the clipped values each layer was divided by
    relative_error: float
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


def consistent(data: dict) -> list[str]:
    """The sizes agree with the model's and with each other; every neuron named is one the model has."""
    layers, d_ff, n = data["model_shape"]["layers"], data["model_shape"]["d_ff"], len(data["tokens"])
    problems = [] if (data["n_layers"], data["d_ff"]) == (layers, d_ff) else [
        f"n_layers {data['n_layers']} and d_ff {data['d_ff']} are not the model's ({layers}, {d_ff})"]
    if len(data["top_neurons"]) != layers or any(len(row) != n for row in data["top_neurons"]):
        problems.append("top_neurons is not one row per layer and position")
    problems += within("a top neuron", [i for layer in data["top_neurons"] for pos in layer for i in pos], 0, d_ff - 1)
    factors = data["factors"]
    rows = (factors["token_weights"], factors["layer_part"], factors["part"])
    if any(len(row) != factors["n"] for row in rows):
        problems.append(f"factors are not {factors['n']} rows of weights, layer parts and parts")
    if any(len(row) != n for row in factors["token_weights"]) or any(len(r) != layers for r in factors["layer_part"]) \
            or len(factors["layer_scale"]) != layers:
        problems.append("factors are not one weight per position and one part and scale per layer")
    if data["contributions"] is not None:
        contributors = data["contributions"]["neurons"]
        problems += within("a contributor's layer", [c["layer"] for c in contributors], 1, layers)
        problems += within("a contributor's neuron", [c["neuron"] for c in contributors], 0, d_ff - 1)
        problems += within("the position", [data["contributions"]["position"]], 0, n - 1)
    return problems
