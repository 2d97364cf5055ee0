"""The shape of a rank_evolution result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config

from lmreport.analyses.consistency import (
    agree,
    layer_rows,
    model,
    probabilities,
    prompt,
    ranks,
    sized,
    table,
    token_ids,
)
from lmreport.analyses.schema import STRICT, Candidate, Computed, within


class RankedCandidate(Candidate):
    ranks: list[int]  # per layer
    probs: list[float]


@with_config(STRICT)
class RankEvolutionResult(Computed):
    notes: list[str]
    tokens: list[str]
    input_ids: list[int]
    layers: list[str]
    output_ids: list[int]
    output_tokens: list[str]
    output_ranks: list[list[int]]  # [layer][position]
    output_probs: list[list[float]]
    position: int | None
    candidates: list[RankedCandidate]


def consistent(data: dict[str, Any]) -> list[str]:
    """One row per layer (the embeddings, then each block) of one rank per token; the output row ranks the
    model's own prediction first; named tokens, ranked at a position of the prompt, are ranked as the
    prediction there is when they are that token, and in the order of their probabilities."""
    if model(data):
        return model(data)
    n_rows, n, cands = data["model_shape"]["layers"] + 1, len(data["tokens"]), data["candidates"]
    problems = prompt(data) + layer_rows(data)
    problems += sized("output_ids", data["output_ids"], n, "token")
    problems += sized("output_tokens", data["output_tokens"], n, "token")
    problems += table("output_ranks", data["output_ranks"], n_rows, n)
    problems += table("output_probs", data["output_probs"], n_rows, n)
    position = data["position"]
    if (position is None) != (not cands):
        problems.append("a position is given without named tokens, or named tokens without a position")
    elif position is not None:
        problems += within("the position", [position], 0, n - 1)
    for c in cands:
        problems += sized(f"{c['text']!r}: ranks", c["ranks"], n_rows, "layer")
        problems += sized(f"{c['text']!r}: probs", c["probs"], n_rows, "layer")
    if problems:
        return problems
    problems += token_ids("a predicted id", data["output_ids"], data)
    problems += token_ids("a named token's id", [c["id"] for c in cands], data)
    problems += ranks("a rank", [r for row in data["output_ranks"] for r in row] +
                      [r for c in cands for r in c["ranks"]], data)
    problems += probabilities("a probability", [p for row in data["output_probs"] for p in row] +
                              [p for c in cands for p in c["probs"]])
    if any(r != 1 for r in data["output_ranks"][-1]):
        problems.append(f"the output row ranks the model's prediction {data['output_ranks'][-1][:8]}, not first")
    for layer in range(n_rows if cands else 0):
        problems += agree(f"layer {layer}", [c["probs"][layer] for c in cands], [c["ranks"][layer] for c in cands])
    predicted = data["output_ids"][position] if cands else None
    same = next((c for c in cands if c["id"] == predicted and c["ranks"] != [row[position] for row in
                                                                                data["output_ranks"]]), None)
    if same is not None:
        problems.append(f"{same['text']!r} is the model's prediction at {position}, ranked otherwise than it")
    return problems
