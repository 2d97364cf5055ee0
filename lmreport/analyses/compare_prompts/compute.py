"""Several prompts × several candidate tokens: probability and rank per layer and at the output
(bias and sensitivity studies: "The doctor said that" / "The nurse said that" × " he" / " she")."""

from __future__ import annotations

import math
from typing import Any

from lmreport.analyses.common import candidate_ids, layer_names, log_probabilities, ranks, resolve_position, space_notes
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

NEEDS = frozenset({"hidden_states"})  # the logit lens of each prompt


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("compare_prompts")
    ids = candidate_ids(model, options["tokens"])
    ratio = options["ratio"]
    if ratio is not None:
        if len(ratio) != 2 or any(r not in options["tokens"] for r in ratio):
            raise AnalysisError("ratio names two of the candidates in tokens, e.g. [\" he\", \" she\"]", "ratio")
    rows = []
    for prompt in options["prompts"]:
        pass_ = model.forward(prompt, NEEDS)
        position = resolve_position(options["position"], len(pass_.tokens))
        at = model.lens_at(pass_, position)  # [layer+1, vocab]
        id_tensor = torch.tensor(ids).expand(at.shape[0], -1)
        cand_log_probs = log_probabilities(at, id_tensor)
        row = {
            "prompt": prompt,
            "tokens": pass_.tokens,
            "position": position,
            "ranks": ranks(at, id_tensor).T.tolist(),  # [candidate][layer]
            "probs": cand_log_probs.exp().T.tolist(),
            "log_ratio": None,
        }
        if ratio is not None:
            a, b = (options["tokens"].index(r) for r in ratio)
            row["log_ratio"] = (cand_log_probs[:, a] - cand_log_probs[:, b]).tolist()
        rows.append(row)
    n_rows = len(rows[0]["probs"][0])
    return {
        "notes": space_notes(model, options["tokens"]),
        "layers": layer_names(n_rows),
        "candidates": [{"text": t, "id": i, "token": model.token_texts([i])[0]}
                       for t, i in zip(options["tokens"], ids, strict=True)],
        "ratio": ratio,
        "prompts": rows,
        "log_base": math.e,
    }
