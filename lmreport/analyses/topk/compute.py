"""Next-token prediction: the k most probable tokens after softmax(logits / temperature), at one position."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import resolve_position
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel


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
    data: dict[str, Any] = {
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
    top = data["predictions"][0]
    if options.get("xmax") is not None and top["prob"] > options["xmax"]:
        # Written for another model or temperature: the axis grows rather than cut the bar, and the build says so.
        data["notes"] = [f"xmax is {options['xmax']:g}, but {top['token']!r} has probability {top['prob']:.1%}: the "
                         "probability axis is extended to fit it"]
    return data
