"""Rank evolution: through the logit lens, the rank of the finally-predicted token at every layer and
position, and of any tokens the author names."""

from __future__ import annotations

from typing import Any

from ..models import ForwardPass, LoadedModel
from .base import PROMPT, Analysis, Option
from .common import candidate_ids, layer_names, ranks, resolve_position


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("rank_evolution")
    log_probs = model.layer_log_probs(forward)  # [layer+1, pos, vocab]
    output_ids = log_probs[-1].argmax(-1)  # the model's own prediction after each position
    index = output_ids.expand(log_probs.shape[0], -1).unsqueeze(-1)  # [layer+1, pos, 1]
    output_ranks = ranks(log_probs, index).squeeze(-1)
    output_probs = log_probs.gather(-1, index).squeeze(-1).double().exp()
    data: dict[str, Any] = {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(log_probs.shape[0]),
        "output_ids": output_ids.tolist(),
        "output_tokens": model.token_texts(output_ids.tolist()),
        "output_ranks": output_ranks.tolist(),  # [layer][pos]
        "output_probs": output_probs.tolist(),
        "position": None,
        "candidates": [],
    }
    if options["tokens"]:
        position = resolve_position(options["position"], len(forward.tokens))
        ids = candidate_ids(model, options["tokens"])
        at = log_probs[:, position, :]  # [layer+1, vocab]
        id_tensor = torch.tensor(ids).expand(at.shape[0], -1)
        cand_ranks = ranks(at, id_tensor)  # [layer+1, candidate]
        cand_probs = at.gather(-1, id_tensor).double().exp()
        data["position"] = position
        data["candidates"] = [
            {"text": text, "id": i, "token": model.token_texts([i])[0],
             "ranks": cand_ranks[:, c].tolist(), "probs": cand_probs[:, c].tolist()}
            for c, (text, i) in enumerate(zip(options["tokens"], ids, strict=True))
        ]
    return data


ANALYSIS = Analysis(
    name="rank_evolution",
    label="Rank of the predicted token, layer by layer",
    summary=(
        "Through the logit lens (final norm applied), the rank at every layer of the token the model finally "
        "predicts at each position, and of any tokens you name."
    ),
    version="1",
    options=(
        PROMPT,
        Option("tokens", list, [], "tokens to follow at `position`, e.g. [\" Paris\", \" Rome\"]", min_items=0),
        Option("position", int, -1, "where the named tokens are ranked (-1: after the last token)"),
    ),
    compute=compute,
)
