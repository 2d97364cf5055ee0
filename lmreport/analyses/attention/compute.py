"""Attention weights of every layer and head, for BertViz's head and model views and a query × key heatmap."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.attention import values
from lmreport.analyses.attention.packing import pack_attention
from lmreport.analyses.common import resolve_index, resolve_layer
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

VIEWS = ("head", "model", "heatmap")


DECIMALS = 4  # the weights as the JSON file and prose read them; the page's bytes are packed from the exact ones


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    layer = resolve_layer(options["layer"], forward.attentions.shape[0], "layer", model.source.name)
    data = attention_data(forward, options["views"], layer)
    if options["head"] is not None:
        data["head"] = resolve_index(options["head"], forward.attentions.shape[1], "head", "head", model.source.name)
    if options["focus"] is not None:
        # The views open on the head that follows the pattern most, whatever the model's depth.
        if not values.pattern_pairs(data["tokens"], options["focus"]):
            raise AnalysisError(values.no_place(options["focus"]), "focus")
        _, index, head = values.strongest_head(data, options["focus"])
        data.update(layer=index + 1, head=head, focus=options["focus"])
    data["kv_heads"] = int(getattr(model.config, "num_key_value_heads", None) or data["n_heads"])
    return data


def attention_data(forward: ForwardPass, views: list[str], layer: int) -> dict[str, Any]:
    """Attention of every layer and head, rounded to DECIMALS, with what the views need: the bytes the page draws
    are packed from the exact weights (rounding the rounded ones again would put 0.5% of them a step off). `layer`
    is a 0-based block index; the data names it as the pages do (block n makes hidden-state row n, so blocks count
    from 1): "attention"[i] is block i + 1."""
    attn = forward.attentions  # [layer, head, query, key]
    scale = 10.0**DECIMALS
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "n_layers": attn.shape[0],
        "n_heads": attn.shape[1],
        "views": views,
        "layer": layer + 1,
        "layers": list(range(1, attn.shape[0] + 1)),
        "attention": ((attn.double() * scale).round() / scale).tolist(),
        "packed": pack_attention(attn.double().cpu().numpy()),
    }
