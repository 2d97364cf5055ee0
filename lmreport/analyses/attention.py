"""Attention weights of every layer and head, for BertViz's head and model views and a query × key heatmap."""

from __future__ import annotations

from typing import Any

from ..models import ForwardPass, LoadedModel
from . import values
from .base import PROMPT, Analysis, Option
from .common import resolve_index

VIEWS = ("head", "model", "heatmap")
DECIMALS = 4  # enough for a picture; the JSON file keeps the same rounded values


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    layer = resolve_index(options["layer"], forward.attentions.shape[0], "layer", "layer", model.source.name)
    data = attention_data(forward, options["views"], layer)
    data["kv_heads"] = getattr(model.config, "num_key_value_heads", data["n_heads"])
    return data


def attention_data(forward: ForwardPass, views: list[str], layer: int) -> dict[str, Any]:
    """Attention of every layer and head, rounded for drawing, with what the views need."""
    attn = forward.attentions  # [layer, head, query, key]
    scale = 10.0**DECIMALS
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "n_layers": attn.shape[0],
        "n_heads": attn.shape[1],
        "views": views,
        "layer": layer,
        "attention": ((attn.double() * scale).round() / scale).tolist(),
    }


ANALYSIS = Analysis(
    name="attention",
    label="Attention",
    summary="BertViz head view (one layer, all heads) and model view (every layer and head) of the prompt.",
    version="1",
    options=(
        PROMPT,
        Option("views", list, ["head", "model"], "which views to draw: head, model (BertViz), heatmap (query × key, "
               "one head or a layer's mean)", choices=VIEWS),
        Option("layer", int, 0, "the layer the head view opens on (0-based; -1 is the last)"),
    ),
    compute=compute,
    needs=frozenset({"attentions"}),
    comparable=False,
    values=values.ATTENTION,
    max_tokens=256,
)
