"""Attention weights packed for the page: one byte per weight, base64, only the lower triangle of a causal
model's (the page decodes it in bertviz-glue.js). Numbers only: no HTML here."""

from __future__ import annotations

from typing import Any

QUANT = 255  # attention weights go to the page as bytes: round(w · 255), ±0.002


def pack_attention(attention: Any) -> dict[str, Any]:
    """[layer][head][query][key] weights as one base64 string of bytes, round(w · 255): only the lower triangle
    (keys up to the query) when the model is causal, as every row's later keys are then 0. The page decodes it
    (bertviz-glue.js). Packed from the exact weights when they are computed (the figure's JSON file keeps them to
    4 decimals). A 128-token prompt on a 30-layer, 9-head model: 2.2 million weights, 3 MB as base64 instead of
    31 MB as JSON text."""
    import base64

    import numpy as np

    weights = np.asarray(attention, dtype=np.float64)
    layers, heads, n, _ = weights.shape
    causal = not np.triu(weights, 1).any()
    quantised = np.clip(np.rint(weights * QUANT), 0, QUANT).astype(np.uint8)
    if causal:
        rows, cols = np.tril_indices(n)
        quantised = quantised[..., rows, cols]
    return {"shape": [layers, heads, n], "triangle": bool(causal), "scale": QUANT,
            "bytes": base64.b64encode(quantised.tobytes()).decode("ascii")}


def unpack_attention(packed: dict[str, Any]) -> Any:
    """The weights pack_attention() packed, as a [layer, head, query, key] float array (what the page decodes);
    ValueError when the bytes are not base64 or not as many as the shape needs."""
    import base64
    import binascii

    import numpy as np

    layers, heads, n = packed["shape"]
    try:
        raw = np.frombuffer(base64.b64decode(packed["bytes"], validate=True), dtype=np.uint8)
    except binascii.Error as e:
        raise ValueError(f"the packed weights are not base64 ({e})") from None
    per_head = n * (n + 1) // 2 if packed["triangle"] else n * n
    if raw.size != layers * heads * per_head:
        raise ValueError(f"the packed weights are {raw.size} bytes, not {layers * heads * per_head} "
                         f"({layers} layers × {heads} heads × {per_head})")
    weights = np.zeros((layers, heads, n, n))
    if packed["triangle"]:
        rows, cols = np.tril_indices(n)
        weights[..., rows, cols] = raw.reshape(layers, heads, per_head)
    else:
        weights[:] = raw.reshape(layers, heads, n, n)
    return weights / packed["scale"]
