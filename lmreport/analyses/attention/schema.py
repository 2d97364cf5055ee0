"""The shape of a attention result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.schema import STRICT, Computed, within


class Packed(TypedDict):
    """The exact weights as the page draws them: bytes round(w · scale), base64 (packing.py)."""

    shape: list[int]  # [layers, heads, tokens]
    triangle: bool  # only keys up to the query (a causal model)
    scale: int
    bytes: str


class AttentionData(TypedDict):
    """The weights of every layer and head (rounded to 4 decimals) and what the views open on."""

    tokens: list[str]
    input_ids: list[int]
    n_layers: int
    n_heads: int
    views: list[str]
    layer: int  # a block, counted from 1
    layers: list[int]
    attention: list[list[list[list[float]]]]  # [layer][head][query][key]
    packed: Packed


@with_config(STRICT)
class AttentionResult(AttentionData, Computed):
    kv_heads: int
    head: NotRequired[int]
    focus: NotRequired[str]


ROUNDED = 0.5e-4  # the JSON's weights are rounded to 4 decimals
LOW_PRECISION = 1e-2  # a bfloat16 model's softmax rows add up to 1 within about 2**-9


def consistent_attention(data: dict[str, Any], shape: dict[str, int]) -> list[str]:
    """The weights are one [token × token] matrix per layer and head of the model, each row a distribution; the
    views are known ones; the packed bytes the page draws are the same weights (within their rounding)."""
    import numpy as np

    from lmreport.analyses.attention.compute import VIEWS
    from lmreport.analyses.attention.packing import unpack_attention

    n, layers, heads = len(data["tokens"]), data["n_layers"], data["n_heads"]
    problems = [] if len(data["input_ids"]) == n else [f"{len(data['input_ids'])} input ids for {n} tokens"]
    if (layers, heads) != (shape["layers"], shape["heads"]):
        problems.append(f"n_layers {layers} and n_heads {heads} are not the model's ({shape['layers']}, "
                        f"{shape['heads']})")
        return problems
    if data["layers"] != list(range(1, layers + 1)):
        problems.append(f"layers is not 1..{layers}")
    problems += within("the layer", [data["layer"]], 1, layers)
    if not data["views"] or len(set(data["views"])) != len(data["views"]) or not set(data["views"]) <= set(VIEWS):
        problems.append(f"views must be some of {', '.join(VIEWS)}, each once")
    attention = data["attention"]
    if len(attention) != layers or any(len(layer) != heads or any(len(rows) != n or any(len(row) != n for row in rows)
                                                                   for rows in layer) for layer in attention):
        problems.append(f"attention is not {layers} layers × {heads} heads × {n} × {n} tokens")
        return problems
    weights = np.asarray(attention, dtype=np.float64).reshape(layers, heads, n, n)
    if weights.size and (weights.min() < 0 or np.abs(weights.sum(-1) - 1).max() > n * ROUNDED + LOW_PRECISION):
        problems.append("a row of attention weights is not a distribution (weights from 0, adding up to 1)")
    packed = data["packed"]
    if packed["shape"] != [layers, heads, n] or packed["scale"] != 255:
        problems.append(f"the packed weights are of shape {packed['shape']} at scale {packed['scale']}, not "
                        f"[{layers}, {heads}, {n}] at 255")
        return problems
    try:
        drawn = unpack_attention(packed)
    except ValueError as e:
        return [*problems, str(e)]
    if drawn.size and np.abs(drawn - weights).max() > 0.5 / 255 + ROUNDED + 1e-9:
        problems.append(f"the packed weights differ from the weights by up to {np.abs(drawn - weights).max():.3g}")
    return problems


def consistent(data: dict[str, Any]) -> list[str]:
    """The weights and views agree with the model (consistent_attention); the head and the model's key/value
    heads are in range, and the pattern focused on is a known one."""
    from lmreport.analyses.attention.values import PATTERNS

    problems = consistent_attention(data, data["model_shape"])
    if "head" in data:
        problems += within("the head", [data["head"]], 0, data["n_heads"] - 1)
    if data["kv_heads"] != data["model_shape"]["kv_heads"]:
        problems.append(f"kv_heads {data['kv_heads']} is not the model's {data['model_shape']['kv_heads']}")
    if data.get("focus", PATTERNS[0]) not in PATTERNS:
        problems.append(f"focus must be one of {', '.join(PATTERNS)}")
    return problems
