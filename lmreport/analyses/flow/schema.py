"""The shape of a flow result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed, Token, row


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
