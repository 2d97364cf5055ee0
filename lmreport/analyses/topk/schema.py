"""The shape of a topk result (see analyses/schema.py)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import with_config
from typing_extensions import NotRequired, TypedDict

from lmreport.analyses.consistency import SLACK, TIE, descending, model, probabilities, prompt, token_ids
from lmreport.analyses.schema import STRICT, Computed, within


class Prediction(TypedDict):
    rank: int
    id: int
    token: str
    prob: float
    logit: float


@with_config(STRICT)
class TopkResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    position: int
    temperature: float
    entropy: float
    predictions: list[Prediction]
    notes: NotRequired[list[str]]  # what the build warns of at the block (an xmax its bars exceed)


def consistent(data: dict[str, Any]) -> list[str]:
    """The predictions follow a position of the prompt, are different tokens of the vocabulary ranked 1 to k,
    the most probable first, with logits in the same order; the entropy is that of a distribution over the
    vocabulary."""
    if model(data):
        return model(data)
    vocab, preds = data["model_shape"]["vocab"], data["predictions"]
    problems = prompt(data) + within("the position", [data["position"]], 0, len(data["tokens"]) - 1)
    if not data["temperature"] > 0:
        problems.append(f"the temperature {data['temperature']} is not above 0")
    if not -SLACK <= data["entropy"] <= math.log(vocab) + SLACK:
        problems.append(f"the entropy {data['entropy']} is outside 0..ln({vocab})")
    if not 1 <= len(preds) <= vocab or [p["rank"] for p in preds] != list(range(1, len(preds) + 1)):
        return problems + [f"the {len(preds)} predictions are not ranked 1 to {len(preds)} in order"]
    ids, probs = [p["id"] for p in preds], [p["prob"] for p in preds]
    problems += token_ids("a predicted id", ids, data) + probabilities("a probability", probs)
    if len(set(ids)) != len(ids):
        problems.append("a token is predicted twice")
    if sum(probs) > 1 + SLACK:
        problems.append(f"the probabilities add up to {sum(probs)}")
    problems += descending("the probabilities", probs)
    bad = next((i for i in range(1, len(preds)) if probs[i - 1] > probs[i] * (1 + TIE) + 1e-300 and
                preds[i - 1]["logit"] < preds[i]["logit"]), None)
    if bad is not None:
        problems.append(f"rank {bad} has a lower logit than rank {bad + 1} ({preds[bad - 1]['logit']} < "
                        f"{preds[bad]['logit']})")
    return problems
