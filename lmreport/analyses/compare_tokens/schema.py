"""The shape of a compare_tokens result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config

from lmreport.analyses.consistency import agree, layer_rows, model, probabilities, prompt, ranks, sized, token_ids
from lmreport.analyses.schema import STRICT, Candidate, Computed, within


class RankedCandidate(Candidate):
    ranks: list[int]  # per layer
    probs: list[float]


@with_config(STRICT)
class CompareTokensResult(Computed):
    notes: list[str]
    tokens: list[str]
    input_ids: list[int]
    position: int
    layers: list[str]
    candidates: list[RankedCandidate]
    leader: list[int]  # per layer, the index of the leading candidate
    winner: int
    leads_from_layer: int


def consistent(data: dict[str, Any]) -> list[str]:
    """Every candidate is ranked at every layer (the embeddings, then each block); the leader of each layer is a
    candidate ranked best there, the winner leads at the output, and leads_from_layer is where its lead
    begins."""
    n_rows, cands = data["model_shape"]["layers"] + 1, data["candidates"]
    if model(data):
        return model(data)
    problems = prompt(data) + within("the position", [data["position"]], 0, len(data["tokens"]) - 1)
    problems += layer_rows(data) + sized("leader", data["leader"], n_rows, "layer")
    if not cands:
        return problems + ["there are no candidates"]
    problems += token_ids("a candidate's id", [c["id"] for c in cands], data)
    for c in cands:
        problems += sized(f"{c['text']!r}: ranks", c["ranks"], n_rows, "layer")
        problems += sized(f"{c['text']!r}: probs", c["probs"], n_rows, "layer")
    leader = data["leader"]
    bad_leader = within("a leader", leader, 0, len(cands) - 1)
    if problems or bad_leader:
        return problems + bad_leader
    problems += ranks("a rank", (r for c in cands for r in c["ranks"]), data)
    problems += probabilities("a probability", (p for c in cands for p in c["probs"]))
    for layer in range(n_rows):
        at = [c["ranks"][layer] for c in cands]
        problems += agree(f"layer {layer}", [c["probs"][layer] for c in cands], at)
        if at[leader[layer]] != min(at):
            problems.append(f"the leader at layer {layer} has rank {at[leader[layer]]}; another has {min(at)}")
            break
    since = n_rows - 1
    while since > 0 and leader[since - 1] == leader[-1]:
        since -= 1
    if (data["winner"], data["leads_from_layer"]) != (leader[-1], since):
        problems.append(f"winner {data['winner']} leading from layer {data['leads_from_layer']}, but the leaders "
                        f"say {leader[-1]} from layer {since}")
    return problems
