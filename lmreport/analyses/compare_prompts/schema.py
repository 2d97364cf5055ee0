"""The shape of a compare_prompts result (see analyses/schema.py)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import agree, layer_rows, model, probabilities, ranks, sized, table, token_ids
from lmreport.analyses.schema import STRICT, Candidate, Computed, within


class PromptRow(TypedDict):
    prompt: str
    tokens: list[str]
    position: int
    ranks: list[list[int]]  # [candidate][layer]
    probs: list[list[float]]
    log_ratio: list[float] | None


@with_config(STRICT)
class ComparePromptsResult(Computed):
    notes: list[str]
    layers: list[str]
    candidates: list[Candidate]
    ratio: list[str] | None
    prompts: list[PromptRow]
    log_base: float


def consistent(data: dict[str, Any]) -> list[str]:
    """Every prompt ranks every candidate at every layer (the embeddings, then each block), at a position it has;
    the ratio names two candidates, and each prompt's log ratio is the log of their probabilities' ratio."""
    n_rows, texts = data["model_shape"]["layers"] + 1, [c["text"] for c in data["candidates"]]
    if model(data):
        return model(data)
    problems = layer_rows(data)
    if not texts or not data["prompts"]:
        problems.append(f"{len(data['prompts'])} prompts and {len(texts)} candidates (at least one of each)")
    problems += token_ids("a candidate's id", [c["id"] for c in data["candidates"]], data)
    ratio = data["ratio"]
    if ratio is not None and (len(ratio) != 2 or not set(ratio) <= set(texts)):
        return problems + ["the ratio does not name two of the candidates"]
    for i, row in enumerate(data["prompts"]):
        where = f"prompt {i}"
        problems += within(f"{where}: the position", [row["position"]], 0, len(row["tokens"]) - 1)
        shape = table(f"{where}: ranks", row["ranks"], len(texts), n_rows, "candidate", "layer") + \
            table(f"{where}: probs", row["probs"], len(texts), n_rows, "candidate", "layer")
        if (row["log_ratio"] is None) != (ratio is None):
            shape.append(f"{where} has a log ratio" if ratio is None else f"{where} has no log ratio")
        elif ratio is not None:
            shape += sized(f"{where}: log_ratio", row["log_ratio"], n_rows, "layer")
        if shape:
            problems += shape
            continue
        problems += ranks(f"{where}: a rank", (r for rs in row["ranks"] for r in rs), data)
        problems += probabilities(f"{where}: a probability", (p for ps in row["probs"] for p in ps))
        for layer in range(n_rows):
            problems += agree(f"{where}, layer {layer}", [ps[layer] for ps in row["probs"]],
                              [rs[layer] for rs in row["ranks"]])
        if ratio is not None:
            problems += _log_ratio(where, row, [texts.index(r) for r in ratio])
    return problems


def _log_ratio(where: str, row: dict[str, Any], pair: list[int]) -> list[str]:
    """The log ratio is ln(p_a) - ln(p_b) wherever neither probability underflowed."""
    a, b = (row["probs"][c] for c in pair)
    for layer, value in enumerate(row["log_ratio"]):
        if min(a[layer], b[layer]) > 1e-300 and \
                abs(math.log(a[layer]) - math.log(b[layer]) - value) > 1e-6 * max(1.0, abs(value)):
            return [f"{where}: the log ratio {value} at layer {layer} is not ln({a[layer]} / {b[layer]})"]
    return []
