"""What prose may cite from a norms result."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index
from lmreport.glue.sizes import MODEL


def norm(data: dict[str, Any], layer: int = -1) -> float:
    """the mean norm of the residual stream over the tokens at a layer (0 the embeddings; -1 the last)"""
    return float(data["mean"][checked_index(layer, len(data["mean"]), "layer")])


def largest_layer(data: dict[str, Any]) -> int:
    """the layer whose mean norm is the largest"""
    return max(range(len(data["mean"])), key=lambda i: data["mean"][i])


VALUES = {**MODEL, "norm": norm, "largest_layer": largest_layer}
