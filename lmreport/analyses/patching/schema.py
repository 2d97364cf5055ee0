"""The shape of a patching result (see analyses/schema.py)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import model, probabilities, prompt, table, token_ids
from lmreport.analyses.patching.runs import SITES
from lmreport.analyses.schema import STRICT, Computed, Token, within

AGREE = 1e-6  # how far a recovery may be from its patched metric's, relative to the metrics' size


class Best(TypedDict):
    layer: int  # as the pages count rows: 0 the embeddings, n block n (or the residual stream after it)
    column: int  # a position, or a head for site heads
    recovery: float


@with_config(STRICT)
class PatchingResult(Computed):
    prompt: str
    corrupted: str
    tokens: list[str]
    input_ids: list[int]
    corrupted_tokens: list[str]
    corrupted_ids: list[int]
    changed: list[int]  # the positions whose tokens differ
    site: str
    metric: str  # logit_diff or prob
    quantity: str  # the metric in words, with its tokens
    chosen: str  # how answer and wrong were chosen (given, or which run's top token)
    answer: Token
    wrong: Token | None  # None for metric prob
    clean_metric: float
    corrupted_metric: float
    layers: list[int]  # each row's number
    columns: str  # "position" or "head"
    patched: list[list[float]]  # [row][column]: the metric with that one activation restored
    recovery: list[list[float]]  # (patched - corrupted) / (clean - corrupted)
    best: Best
    forward_passes: int
    notes: list[str]


def consistent(data: dict[str, Any]) -> list[str]:
    """Two prompts as long, `changed` where their ids differ; one row per block (and the embeddings for the
    residual stream), one column per position (per head for site heads); every recovery its patched metric
    normalised between the corrupted and clean ones; best the largest of them."""
    if model(data):
        return model(data)
    shape = data["model_shape"]
    n = len(data["tokens"])
    problems = prompt(data)
    if len(data["corrupted_tokens"]) != n or len(data["corrupted_ids"]) != n:
        problems.append(f"the corrupted prompt has {len(data['corrupted_tokens'])} tokens and "
                        f"{len(data['corrupted_ids'])} ids for the clean prompt's {n}")
    problems += token_ids("a corrupted id", data["corrupted_ids"], data)
    problems += _tokens(data)
    if problems:
        return problems
    differ = [i for i, (a, b) in enumerate(zip(data["input_ids"], data["corrupted_ids"], strict=True)) if a != b]
    if data["changed"] != differ or not differ:
        problems.append(f"changed {data['changed']} is not where the prompts' ids differ ({differ})")
    site, layers = data["site"], shape["layers"]
    if site not in SITES or data["columns"] != ("head" if site == "heads" else "position"):
        return problems + [f"site {site!r} with columns {data['columns']!r} is not one of {', '.join(SITES)} with "
                           "its columns"]
    first = 0 if site == "residual" else 1
    if len(data["layers"]) != layers + 1 - first or data["layers"] != list(range(first, layers + 1)):
        return problems + [f"layers is not the rows {first} to {layers} of site {site}"]
    columns = shape["heads"] if site == "heads" else n
    if columns < 1:
        return problems + [f"the model has {columns} heads"]
    shapes = table("patched", data["patched"], len(data["layers"]), columns, "layer", data["columns"])
    shapes += table("recovery", data["recovery"], len(data["layers"]), columns, "layer", data["columns"])
    if shapes:
        return problems + shapes
    return problems + _metrics(data) + _best(data)


def _tokens(data: dict[str, Any]) -> list[str]:
    problems = token_ids("the answer's id", [data["answer"]["id"]], data)
    wrong = data["wrong"]
    if data["metric"] not in ("logit_diff", "prob") or (wrong is None) != (data["metric"] == "prob"):
        problems.append(f"metric {data['metric']!r} " + ("names no wrong token" if wrong is None else
                                                          "names a wrong token"))
    elif wrong is not None:
        problems += token_ids("the wrong token's id", [wrong["id"]], data)
        if wrong["id"] == data["answer"]["id"]:
            problems.append("the wrong token is the answer")
    return problems


def _metrics(data: dict[str, Any]) -> list[str]:
    clean, corrupted = data["clean_metric"], data["corrupted_metric"]
    gap = clean - corrupted
    size = 1 + abs(clean) + abs(corrupted)
    if abs(gap) <= 1e-9 * size or not math.isfinite(gap):
        return [f"the clean and corrupted metrics ({clean}, {corrupted}) leave nothing to recover"]
    problems = []
    if data["metric"] == "prob":
        problems += probabilities("a metric", [clean, corrupted, *(v for row in data["patched"] for v in row)])
    for i, (patched, recovery) in enumerate(zip(data["patched"], data["recovery"], strict=True)):
        bad = next((j for j, (p, r) in enumerate(zip(patched, recovery, strict=True))
                    if abs((p - corrupted) - r * gap) > AGREE * size), None)
        if bad is not None:
            problems.append(f"the recovery of row {i}, column {bad} ({recovery[bad]}) is not its patched metric "
                            f"({patched[bad]}) between the corrupted and clean ones")
            break
    return problems


def _best(data: dict[str, Any]) -> list[str]:
    best, layers = data["best"], data["layers"]
    columns = len(data["recovery"][0]) if data["recovery"] else 0
    place = within("the best cell's layer", [best["layer"]], layers[0], layers[-1]) + \
        within(f"the best cell's {data['columns']}", [best["column"]], 0, columns - 1)
    if place:
        return place
    largest = max(v for row in data["recovery"] for v in row)
    cell = data["recovery"][best["layer"] - layers[0]][best["column"]]
    if best["recovery"] != cell or cell < largest:
        return [f"the best cell's recovery {best['recovery']} is not its cell's ({cell}), or not the largest "
                f"({largest})"]
    return []
