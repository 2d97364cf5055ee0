"""The shape of a logit_lens result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config

from lmreport.analyses.consistency import (
    SLACK,
    descending,
    layer_rows,
    model,
    probabilities,
    prompt,
    table,
    token_ids,
)
from lmreport.analyses.schema import STRICT, Computed


@with_config(STRICT)
class LogitLensResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    layers: list[str]
    top_ids: list[list[list[int]]]  # [layer][position][k]
    top_tokens: list[list[list[str]]]
    top_probs: list[list[list[float]]]
    gain_changed: list[list[int]] | None  # [row, position] cells whose top token changes without the gain


def consistent(data: dict[str, Any]) -> list[str]:
    """One row per layer (the embeddings, then each block) of one cell per token; every cell lists the same
    number of different tokens, with their probabilities, the most probable first; the cells gain_changed names
    are cells of the grid, each once."""
    if model(data):
        return model(data)
    n_rows, n = data["model_shape"]["layers"] + 1, len(data["tokens"])
    problems = prompt(data) + layer_rows(data)
    for name in ("top_ids", "top_tokens", "top_probs"):
        problems += table(name, data[name], n_rows, n)
    if problems:
        return problems
    cells = [(ids, texts, probs) for row in zip(data["top_ids"], data["top_tokens"], data["top_probs"], strict=True)
             for ids, texts, probs in zip(*row, strict=True)]
    k = len(cells[0][0])
    if not 1 <= k <= data["model_shape"]["vocab"] or any(len(c) != k for cell in cells for c in cell):
        return [f"the cells do not all list the same number of tokens (the first lists {k})"]
    problems += token_ids("a top id", (i for ids, _, _ in cells for i in ids), data)
    problems += probabilities("a top probability", (p for _, _, probs in cells for p in probs))
    for ids, _, probs in cells:
        if len(set(ids)) != k:
            return problems + [f"a cell lists a token twice ({ids})"]
        if descending("a cell's probabilities", probs) or sum(probs) > 1 + SLACK:
            return problems + [f"a cell's probabilities {probs} are not sorted, highest first, or add up past 1"]
    changed = data["gain_changed"]
    if changed is not None:
        outside = next((c for c in changed if len(c) != 2 or not (0 <= c[0] < n_rows and 0 <= c[1] < n)), None)
        if outside is not None:
            problems.append(f"gain_changed names {outside}, not a cell of the {n_rows} × {n} grid")
        elif len({tuple(c) for c in changed}) != len(changed):
            problems.append("gain_changed names a cell twice")
    return problems
