"""Several prompts × several candidate tokens: probability and rank per layer and at the output
(bias and sensitivity studies: "The doctor said that" / "The nurse said that" × " he" / " she")."""

from __future__ import annotations

import math
from typing import Any

from ..errors import AnalysisError
from ..models import ForwardPass, LoadedModel
from . import values
from .base import MAX_PROMPT_CHARS, MAX_TOKEN_CHARS, Analysis, Option
from .common import candidate_ids, layer_names, log_probabilities, ranks, resolve_position, space_notes


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
        pass_ = model.forward(prompt, ANALYSIS.needs)
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


ANALYSIS = Analysis(
    name="compare_prompts",
    label="Prompts compared",
    summary=(
        "Several prompts × candidate tokens: each candidate's probability and rank at every layer and at the "
        "output, with an optional log-ratio between two candidates (bias and sensitivity studies)."
    ),
    version="2",
    options=(
        Option("prompts", list, help="the prompts to compare, e.g. [\"The doctor said that\", ...]", min_items=1,
               max_items=32, max_chars=MAX_PROMPT_CHARS),
        Option("tokens", list, help="candidate next tokens, each a single token, e.g. [\" he\", \" she\"]",
               max_chars=MAX_TOKEN_CHARS),
        Option("position", int, -1, "compare predictions after this position of each prompt (-1: the last)"),
        Option("ratio", list, None, "two candidates whose log-ratio ln(p_a / p_b) to show per layer",
               nullable=True, min_items=2, max_items=2, max_chars=MAX_TOKEN_CHARS),
    ),
    compute=compute,
    needs=frozenset({"hidden_states"}),
    values=values.COMPARE_PROMPTS,
)
