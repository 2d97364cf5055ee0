"""The model's sizes, which every block can cite whatever its analysis (`=id.layers`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _size(key: str, doc: str) -> Callable[[dict[str, Any]], int]:
    def size(data: dict[str, Any]) -> int:
        return int(data["model_shape"][key])

    size.__doc__ = doc
    return size


# Every block, whatever its analysis, can cite the sizes of the model it ran on.
MODEL = {key: _size(key, doc) for key, doc in (
    ("layers", "the model's number of layers (blocks)"),
    ("heads", "attention heads per layer"),
    ("kv_heads", "key/value heads per layer (fewer than heads with grouped-query attention)"),
    ("d_model", "width of the residual stream (numbers per token vector)"),
    ("d_head", "width of one head's queries and keys"),
    ("d_ff", "MLP neurons per layer"),
    ("vocab", "tokens in the vocabulary"),
)}
