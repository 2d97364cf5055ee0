"""Logit lens: each layer's residual stream, read through the final norm and the unembedding."""

from __future__ import annotations

from typing import Any

from ..models import ForwardPass, LoadedModel
from . import values
from .base import PROMPT, Analysis, Option
from .common import layer_names, probabilities


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    top_ids, top_probs = [], []
    for logits in model.lens(forward):  # [pos, vocab], one layer at a time
        top = torch.topk(logits, min(options["top"], logits.shape[-1]), dim=-1)
        top_ids.append(top.indices.tolist())
        top_probs.append(probabilities(logits, top.indices).tolist())
    unique = sorted({i for layer in top_ids for pos in layer for i in pos})
    text = dict(zip(unique, model.token_texts(unique), strict=True))
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(len(top_ids)),
        "top_ids": top_ids,
        "top_tokens": [[[text[i] for i in pos] for pos in layer] for layer in top_ids],
        "top_probs": top_probs,
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
        Option("top", int, 5, "how many tokens each cell lists on hover", minimum=1, maximum=50),
    ),
    compute=compute,
    needs=frozenset({"hidden_states"}),
    values=values.LOGIT_LENS,
    max_tokens=256,
)
