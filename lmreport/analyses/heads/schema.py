"""The shape of a heads result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import model, probabilities, prompt, table, token_ids
from lmreport.analyses.schema import STRICT, Computed, Token, within


class Top(TypedDict):
    layer: int  # a block, counted from 1
    head: int
    value: float


@with_config(STRICT)
class HeadsResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    target: Token
    contrast: Token | None
    quantity: str
    layers: list[int]
    contributions: list[list[float]]  # [layer][head]
    logit: float
    heads_total: float
    top: Top
    attention: list[list[list[float]]]  # [layer][head][key], from the last position
    softcap: bool


def consistent(data: dict[str, Any]) -> list[str]:
    """One contribution per block and head of the model, one attention weight per token of the prompt; the top
    head is the one of largest contribution (either sign), and heads_total their sum."""
    if model(data):
        return model(data)
    layers, heads, n = data["model_shape"]["layers"], data["model_shape"]["heads"], len(data["tokens"])
    problems = prompt(data)
    problems += token_ids("the target's id", [data["target"]["id"]], data)
    if data["contrast"] is not None:
        problems += token_ids("the contrast's id", [data["contrast"]["id"]], data)
        if data["contrast"]["id"] == data["target"]["id"]:
            problems.append("the contrast is the target")
    if len(data["layers"]) != layers or data["layers"] != list(range(1, layers + 1)):
        problems.append(f"layers is not the blocks 1 to {layers}")
    grid = data["contributions"]
    shape = table("contributions", grid, layers, heads, "layer", "head")
    shape += table("attention", data["attention"], layers, heads, "layer", "head")
    for i, row in enumerate([] if shape else data["attention"]):
        shape = table(f"attention of layer {i + 1}", row, heads, n, "head", "token")
        if shape:
            break
    if problems or shape:
        return problems + shape
    problems += probabilities("an attention weight", (w for row in data["attention"] for head in row for w in head))
    top = data["top"]
    place = within("the top head's layer", [top["layer"]], 1, layers) + \
        within("the top head", [top["head"]], 0, heads - 1)
    if place:
        return problems + place
    strongest = max((abs(v) for row in grid for v in row), default=0.0)
    if top["value"] != grid[top["layer"] - 1][top["head"]] or abs(top["value"]) < strongest:
        problems.append(f"the top head's contribution {top['value']} is not its cell's, or not the largest "
                        f"({strongest})")
    total = sum(sum(row) for row in grid)
    if abs(data["heads_total"] - total) > 1e-6 * (sum(abs(v) for row in grid for v in row) + 1e-12):
        problems.append(f"heads_total {data['heads_total']} is not the contributions' sum {total}")
    return problems
