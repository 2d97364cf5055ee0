"""Two or more candidate next tokens side by side: rank and probability at every layer."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import candidate_ids, layer_names, probabilities, ranks, resolve_position, space_notes
from lmreport.models.forward import ForwardPass, LoadedModel


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("compare_tokens")
    position = resolve_position(options["position"], len(forward.tokens))
    ids = candidate_ids(model, options["tokens"])
    at = model.lens_at(forward, position)  # [layer+1, vocab]
    id_tensor = torch.tensor(ids).expand(at.shape[0], -1)
    cand_ranks = ranks(at, id_tensor)  # [layer+1, candidate]
    cand_probs = probabilities(at, id_tensor)
    leader = cand_ranks.argmin(-1).tolist()  # which candidate ranks best at each layer
    winner = leader[-1]
    since = len(leader) - 1
    while since > 0 and leader[since - 1] == winner:
        since -= 1
    return {
        "notes": space_notes(model, options["tokens"]),
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "position": position,
        "layers": layer_names(at.shape[0]),
        "candidates": [
            {"text": text, "id": i, "token": model.token_texts([i])[0],
             "ranks": cand_ranks[:, c].tolist(), "probs": cand_probs[:, c].tolist()}
            for c, (text, i) in enumerate(zip(options["tokens"], ids, strict=True))
        ],
        "leader": leader,
        "winner": winner,
        "leads_from_layer": since,
    }
