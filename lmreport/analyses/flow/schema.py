"""The shape of a flow result (see analyses/schema.py)."""

from __future__ import annotations

import re

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed, Token, row, within


class Node(TypedDict):
    residual: float
    heads: NotRequired[list[row(int, float, list[int], list[int])]]  # head, share, promoted, suppressed
    neurons: NotRequired[list[row(int, float, float, list[int], list[int])]]  # neuron, share, activation, ...


class AtOutput(TypedDict):
    attention: float
    ffn: float
    reads: int | None
    heads: list[float]
    read: list[list[float]]  # [token][head]


@with_config(STRICT)
class FlowResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    position: int
    output: str
    predicted: Token
    threshold: float
    floor: float
    n_heads: int
    # [layer, from, to, share, [[head, share]...], residual share or None]
    edges: list[row(int, int, int, float, list[row(int, float)], float | None)]
    ffn: list[list[float]]  # [layer][position]
    residual: list[list[float]]
    nodes: dict[str, Node]
    vocab: list[str]
    at_output: list[AtOutput]


NODE = re.compile(r"x(\d+)|([amr])(\d+)_(\d+)")


def consistent(data: dict) -> list[str]:
    """Every layer, position, head and token index the graph names is one the model and the prompt have (the page
    places nodes by them)."""
    layers, position, n_heads = data["model_shape"]["layers"], data["position"], data["n_heads"]
    problems = within("the position", [position], 0, len(data["tokens"]) - 1)
    if problems:
        return problems
    if data["output"] != f"r{layers}_{position}":
        problems.append(f"the output node {data['output']!r} is not r{layers}_{position}")
    edges = data["edges"]
    problems += within("an edge's layer", [e[0] for e in edges], 1, layers)
    problems += within("an edge's token", [i for e in edges for i in e[1:3]], 0, position)
    problems += within("an edge's head", [h for e in edges for h, _ in e[4]], 0, n_heads - 1)
    for name in ("ffn", "residual"):
        if len(data[name]) != layers or any(len(row) != position + 1 for row in data[name]):
            problems.append(f"{name} is not one share per layer and position up to {position}")
    if len(data["at_output"]) != layers:
        problems.append("at_output is not one entry per layer")
    for node, detail in data["nodes"].items():
        match = NODE.fullmatch(node)
        if match is None or (match[2] and not (1 <= int(match[3]) <= layers and int(match[4]) <= position)) or \
                (match[1] and int(match[1]) > position):
            problems.append(f"the node {node!r} is not a node of this graph")
            break
        entries = detail.get("heads", []) + detail.get("neurons", [])
        problems += within("a node's head", [e[0] for e in detail.get("heads", [])], 0, n_heads - 1)
        problems += within("a token index", [i for e in entries for i in e[-2] + e[-1]], 0, len(data["vocab"]) - 1)
    return problems
