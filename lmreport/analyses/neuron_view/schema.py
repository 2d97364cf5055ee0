"""The shape of a neuron_view result (see analyses/schema.py)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import with_config

from lmreport.analyses.consistency import model, probabilities, prompt, table
from lmreport.analyses.schema import STRICT, Computed, within


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


def consistent(data: dict[str, Any]) -> list[str]:
    """The layers shown are blocks of the model, in order, the first one drawn among them; for each, every head
    has a query and a key vector of one width per token and an attention weight per pair of tokens."""
    if model(data):
        return model(data)
    layers, heads, n = data["layers"], data["model_shape"]["heads"], len(data["tokens"])
    problems = prompt(data) + within("a layer shown", layers, 1, data["model_shape"]["layers"])
    if not layers or layers != sorted(set(layers)):
        problems.append(f"the layers shown {layers[:8]} are not blocks in order, each once")
    elif data["layer"] not in layers:
        problems.append(f"the layer drawn first, {data['layer']}, is not among those shown")
    problems += within("the head", [data["head"]], 0, heads - 1)
    if problems:
        return problems
    width = None  # of the query and key vectors: the first query's
    for name in ("attention", "queries", "keys"):
        problems = table(name, data[name], len(layers), heads, "layer", "head")
        for i, per_head in enumerate([] if problems else data[name]):
            for h, rows in enumerate(per_head):
                if name != "attention" and width is None:
                    width = len(rows[0]) if rows else 0
                columns = (n, "key") if name == "attention" else (width, "coordinate")
                problems = table(f"{name} of layer {layers[i]}, head {h}", rows, n, columns[0], "token", columns[1])
                if problems:
                    return problems
        if problems:
            return problems
    problems += probabilities("an attention weight", (w for layer in data["attention"] for head in layer
                                                      for row in head for w in row))
    if not width or abs(data["scale"] - 1 / math.sqrt(width)) > 1e-9:
        problems.append(f"the scale {data['scale']} is not 1/√{width}, from the vectors' width")
    return problems
