"""Attention weights of every layer and head, for BertViz's head and model views."""

from __future__ import annotations

from typing import Any

from ..errors import AnalysisError
from ..models import ForwardPass, LoadedModel
from .base import PROMPT, Analysis, Option

VIEWS = ("head", "model")
DECIMALS = 4  # enough for a picture; the JSON file keeps the same rounded values


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    n_layers = forward.attentions.shape[0]
    if options["layer"] >= n_layers:
        raise AnalysisError(
            f"layer {options['layer']} is out of range: {model.source.name} has layers 0 to {n_layers - 1}", "layer"
        )
    data = attention_data(forward, options["views"], options["layer"])
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
        Option("views", list, list(VIEWS), "which views to draw: head, model", choices=VIEWS),
        Option("layer", int, 0, "the layer the head view opens on (0-based)", minimum=0),
    ),
    compute=compute,
    max_tokens=256,
)
