"""What prose may cite from a hidden_map result (`=id.value`), as plain functions of its data. Layers are rows as
on the figure's slider: 0 the embeddings, n the residual stream after block n, -1 the last."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import ReferenceProblem


def _row(data: dict[str, Any], layer: int) -> int:
    return checked_index(layer, len(data["layers"]), "layer")


def map_variance(data: dict[str, Any], layer: int = -1) -> float:
    """share (0 to 1) of the points' variance that the map's two axes show at a layer (PCA only)"""
    if data["variance"] is None:
        raise ReferenceProblem(f"the block's method is {data['method']}, whose axes explain no share of variance: "
                               "variance is for method pca")
    return float(sum(data["variance"][_row(data, layer)]))


def _scores(data: dict[str, Any], name: str) -> list[float]:
    if data[name] is None:
        raise ReferenceProblem("the block has no labels to separate (give examples: label: list of prompts)"
                               if not data["labels"] else "the block's labels cannot be scored: a silhouette needs "
                               "2 labels or more, and fewer labels than points")
    return data[name]


def map_separation(data: dict[str, Any], layer: int = -1) -> float:
    """silhouette score of the labels at a layer (-1 to 1), in the full hidden state, by Euclidean distance"""
    return float(_scores(data, "separation")[_row(data, layer)])


def map_drawn_separation(data: dict[str, Any], layer: int = -1) -> float:
    """the same silhouette score, of the points as the map draws them at a layer (two dimensions)"""
    return float(_scores(data, "map_separation")[_row(data, layer)])


def map_best_layer(data: dict[str, Any]) -> int:
    """the layer where the labels separate best (the highest separation; the lowest such layer on a tie)"""
    scores = _scores(data, "separation")
    return scores.index(max(scores))


def map_best_separation(data: dict[str, Any]) -> float:
    """the separation at best_layer"""
    return float(max(_scores(data, "separation")))


def map_points(data: dict[str, Any]) -> int:
    """how many points the map draws (prompts, or tokens of the one prompt)"""
    return len(data["points"])


VALUES = {**MODEL, "variance": map_variance, "separation": map_separation, "drawn_separation": map_drawn_separation,
          "best_layer": map_best_layer, "best_separation": map_best_separation, "points": map_points}
