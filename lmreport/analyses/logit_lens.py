"""Logit lens: each layer's residual stream, read through the final norm and the unembedding."""

from __future__ import annotations

from typing import Any

from ..models import ForwardPass, LoadedModel
from .base import PROMPT, Analysis, Option
from .common import layer_names


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    layer_logits = model.layer_logits(forward)  # [layer+1, pos, vocab]
    probs = torch.softmax(layer_logits.double(), dim=-1)
    top = torch.topk(probs, min(options["top"], probs.shape[-1]), dim=-1)
    ids = top.indices.tolist()
    unique = sorted({i for layer in ids for pos in layer for i in pos})
    text = dict(zip(unique, model.token_texts(unique), strict=True))
    n_layers = layer_logits.shape[0] - 1
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(n_layers + 1),
        "top_ids": ids,
        "top_tokens": [[[text[i] for i in pos] for pos in layer] for layer in ids],
        "top_probs": top.values.tolist(),
    }


ANALYSIS = Analysis(
    name="logit_lens",
    label="Logit lens: each layer's prediction",
    summary=(
        "What each layer would predict: every layer's hidden state passed through the model's final norm "
        "and unembedding; the last row is the model's own output."
    ),
    version="1",
    options=(
        PROMPT,
        Option("top", int, 5, "how many tokens each cell lists on hover", minimum=1),
    ),
    compute=compute,
)
