"""Routes through the flow graph, walked back from the output over edges at or above a threshold (the page
walks them the same way)."""

from __future__ import annotations

from typing import Any


def node_below(layer: int, position: int) -> str:
    """The node block `layer` (from 1) reads at `position`: the embedding, or the previous block's output."""
    return f"x{position}" if layer == 1 else f"r{layer - 1}_{position}"


def routes(edges: list[list[Any]], ffn: list[list[float]], output: str, threshold: float
           ) -> tuple[set[str], list[tuple[str, str, float]]]:
    """The nodes and edges on the routes to `output` whose edges all carry more than `threshold`, walking back
    from the output. edges: [layer, from, to, share, ...] attention edges; ffn: [layer][position] MLP shares
    (the edge past the MLP carries 1 − share). The page's flow.js walks the same way."""
    incoming: dict[str, list[tuple[str, float]]] = {}
    for layer, source, target, share, *_ in edges:
        incoming.setdefault(f"a{layer}_{target}", []).append((node_below(layer, source), share))
    for layer, row in enumerate(ffn, 1):
        for position, share in enumerate(row):
            incoming[f"m{layer}_{position}"] = [(f"a{layer}_{position}", share)]
            incoming[f"r{layer}_{position}"] = [(f"m{layer}_{position}", share), (f"a{layer}_{position}", 1 - share)]
    seen, kept, stack = {output}, [], [output]
    while stack:
        node = stack.pop()
        for source, share in incoming.get(node, ()):
            if share > threshold:
                kept.append((source, node, share))
                if source not in seen:
                    seen.add(source)
                    stack.append(source)
    return seen, kept
