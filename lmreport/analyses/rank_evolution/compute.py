"""Rank evolution: through the logit lens, the rank of the finally-predicted token at every layer and
position, and of any tokens the author names."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import candidate_ids, layer_names, probabilities, ranks, resolve_position, space_notes
from lmreport.models.forward import ForwardPass, LoadedModel


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("rank_evolution")
    output_ids = forward.logits.argmax(-1)  # the model's own prediction after each position
    position = resolve_position(options["position"], len(forward.tokens))
    ids = torch.tensor(candidate_ids(model, options["tokens"])) if options["tokens"] else None
    out_ranks, out_probs, cand_ranks, cand_probs = [], [], [], []
    index = output_ids.unsqueeze(-1)
    for logits in model.lens(forward):  # [pos, vocab], one layer at a time
        out_ranks.append(ranks(logits, index).squeeze(-1).tolist())
        out_probs.append(probabilities(logits, index).squeeze(-1).tolist())
        if ids is not None:
            cand_ranks.append(ranks(logits[position], ids).tolist())
            cand_probs.append(probabilities(logits[position], ids).tolist())
    data: dict[str, Any] = {
        "notes": space_notes(model, options["tokens"]),
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(len(out_ranks)),
        "output_ids": output_ids.tolist(),
        "output_tokens": model.token_texts(output_ids.tolist()),
        "output_ranks": out_ranks,  # [layer][pos]
        "output_probs": out_probs,
        "position": None,
        "candidates": [],
    }
    if ids is not None:
        data["position"] = position
        data["candidates"] = [
            {"text": text, "id": int(i), "token": model.token_texts([int(i)])[0],
             "ranks": [row[c] for row in cand_ranks], "probs": [row[c] for row in cand_probs]}
            for c, (text, i) in enumerate(zip(options["tokens"], ids.tolist(), strict=True))
        ]
    return data
