"""Next-token prediction: the k most probable tokens after softmax(logits / temperature), at one position."""

from __future__ import annotations

from typing import Any

from ..errors import AnalysisError
from ..models import ForwardPass, LoadedModel
from . import values
from .base import PROMPT, Analysis, Option
from .common import resolve_position


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("topk")
    k = options["k"]
    if k > model.vocab_size:
        raise AnalysisError(f"k is {k}, but the vocabulary has only {model.vocab_size} tokens", "k")
    position = resolve_position(options["position"], len(forward.tokens))
    temperature = options["temperature"]
    log_probs = torch.log_softmax(forward.logits[position].double() / temperature, dim=-1)
    top = torch.topk(log_probs, k)
    ids = top.indices.tolist()
    probs = top.values.exp()
    entropy = float(-(log_probs.exp() * log_probs).sum())
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "position": position,
        "temperature": temperature,
        "entropy": entropy,
        "predictions": [
            {"rank": r + 1, "id": i, "token": t, "prob": float(p), "logit": float(forward.logits[position, i])}
            for r, (i, t, p) in enumerate(zip(ids, model.token_texts(ids), probs.tolist(), strict=True))
        ],
    }


ANALYSIS = Analysis(
    name="topk",
    label="Next-token probabilities",
    summary="The k most likely next tokens after the prompt, as probabilities: the softmax of the logits divided "
    "by the temperature (1 by default: the model's own distribution).",
    version="2",
    options=(
        PROMPT,
        Option("k", int, 10, "how many tokens to show", minimum=1, maximum=1000),
        Option("position", int, -1, "predict the token after this position (-1: the last token)"),
        Option("temperature", float, 1.0, "divide the logits by this before the softmax: below 1 sharpens the "
               "distribution, above 1 flattens it (as sampling with that temperature would draw)",
               minimum=0.05, maximum=100.0),
    ),
    compute=compute,
    needs=frozenset(),
    values=values.TOPK,
)
