"""What prose may cite from a flow result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_block
from lmreport.analyses.flow.routes import routes
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def _flow_routes(data: dict[str, Any], threshold: float | None) -> tuple[set[str], list[Any]]:
    threshold = data["threshold"] if threshold is None else float(threshold)
    if threshold < data["floor"]:
        raise ReferenceProblem(f"threshold {threshold} is below the block's floor {data['floor']} (edges below the "
                               "floor were not kept)")
    return routes(data["edges"], data["ffn"], data["output"], threshold)


def _flow_layer(data: dict[str, Any], layer: int) -> dict[str, Any]:
    return data["at_output"][checked_block(layer, len(data["at_output"]))]


def flow_threshold(data: dict[str, Any]) -> float:
    """the block's threshold: an edge stays on a route if its share is above it"""
    return float(data["threshold"])


def flow_nodes(data: dict[str, Any], threshold: float | None = None) -> int:
    """nodes on the routes at a threshold (default: the block's): token embeddings, the residual stream after
    each attention block and after each block, and MLPs"""
    return len(_flow_routes(data, threshold)[0])


def flow_reaches(data: dict[str, Any], token: str, threshold: float | None = None) -> str:
    """"yes" if a route at the threshold (default: the block's) reaches the embedding of that prompt token (any
    occurrence), else "no\""""
    if token not in data["tokens"]:
        raise NotApplicableHere(f"{token!r} is not a token of the prompt ({', '.join(map(repr, data['tokens']))})")
    nodes = _flow_routes(data, threshold)[0]
    return "yes" if any(f"x{i}" in nodes for i, t in enumerate(data["tokens"]) if t == token) else "no"


def flow_attention(data: dict[str, Any], layer: int) -> float:
    """at the output position, the attention block's share (all heads, all tokens read) of the residual stream
    after it at a layer (block 1 to n; -1 the last)"""
    return float(_flow_layer(data, layer)["attention"])


def flow_ffn(data: dict[str, Any], layer: int) -> float:
    """at the output position, the MLP's share of the residual stream after it at a layer (block 1 to n)"""
    return float(_flow_layer(data, layer)["ffn"])


def flow_reads(data: dict[str, Any], layer: int) -> str:
    """the prompt token the output position reads most from at a layer (heads' shares added up; itself left
    out)"""
    reads = _flow_layer(data, layer)["reads"]
    if reads is None:
        raise NotApplicableHere("the output position is the first token: it reads no other")
    return TokenText(data["tokens"][reads])


def flow_reads_head(data: dict[str, Any], layer: int, token: str) -> str:
    """the head through which the output position reads a prompt token most at a layer (block 1 to n), as
    'layer L, head H' (the token's last occurrence up to the position)"""
    row = _flow_layer(data, layer)
    found = [i for i, t in enumerate(data["tokens"][:data["position"] + 1]) if t == token]
    if not found:
        raise NotApplicableHere(f"{token!r} is not a token of the prompt up to the output position")
    shares = row["read"][found[-1]]
    head = max(range(len(shares)), key=lambda h: shares[h])
    return f"layer {checked_block(layer, len(data['at_output'])) + 1}, head {head}"


def flow_top_head_reads(data: dict[str, Any]) -> str:
    """the prompt token that the head with the largest share at the output position (top_head) reads most,
    itself left out"""
    if data["position"] == 0:
        raise NotApplicableHere("the output position is the first token: it reads no other")
    layer, head = _flow_top(data)
    read = data["at_output"][layer]["read"]
    source = max(range(data["position"]), key=lambda s: read[s][head])
    return TokenText(data["tokens"][source])


def _flow_top(data: dict[str, Any]) -> tuple[int, int]:
    """(0-based layer index, head) of the head with the largest share at the output position"""
    _, layer, head = max((share, layer, head) for layer, row in enumerate(data["at_output"])
                         for head, share in enumerate(row["heads"]))
    return layer, head


def flow_top_head(data: dict[str, Any]) -> str:
    """the head with the largest share at the output position, over all layers, as 'layer L, head H'"""
    layer, head = _flow_top(data)
    return f"layer {layer + 1}, head {head}"


VALUES = {**MODEL, "threshold": flow_threshold, "nodes": flow_nodes, "reaches": flow_reaches,
        "attention": flow_attention, "ffn": flow_ffn, "reads": flow_reads, "reads_head": flow_reads_head,
        "top_head": flow_top_head, "top_head_reads": flow_top_head_reads}
