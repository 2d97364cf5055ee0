"""Pieces of the consistency checks the analyses declare beside their shape (`consistent` in each schema.py): a
result of the right types can still disagree with itself or with the model it names (a row per layer missing, a
token id past the vocabulary, a rank that contradicts its probability). Each function returns the problems it
finds as short sentences naming the field and the numbers, never raises on well-typed data, and takes time
about linear in the data's size, allocating nothing in proportion to a size it names (a result from another
machine may name a billion layers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lmreport.analyses.common import layer_names
from lmreport.analyses.schema import within

SLACK = 1e-6  # how far outside [0, 1] a probability (or past 1 a cosine) may be from float rounding
TIE = 1e-9  # relative: probabilities closer than this may be ordered either way (exp rounds each on its own)


def model(data: dict[str, Any]) -> list[str]:
    """The model's sizes the other checks count with: at least one block and one token in its vocabulary (check
    them first: with none, there is nothing to count)."""
    shape = data["model_shape"]
    return [] if shape["layers"] >= 1 and shape["vocab"] >= 1 else [
        f"the model has {shape['layers']} layers and {shape['vocab']} tokens"]


def prompt(data: dict[str, Any]) -> list[str]:
    """The prompt's tokens: at least one, one id per token, each id one of the vocabulary's."""
    n, ids = len(data["tokens"]), data["input_ids"]
    if n == 0:
        return ["the prompt has no tokens"]
    problems = [] if len(ids) == n else [f"{len(ids)} input ids for {n} tokens"]
    return problems + token_ids("an input id", ids, data)


def token_ids(name: str, ids: Iterable[int], data: dict[str, Any]) -> list[str]:
    return within(name, ids, 0, data["model_shape"]["vocab"] - 1)


def layer_rows(data: dict[str, Any]) -> list[str]:
    """The names of the rows of a layer axis: the embeddings, then one per block of the model."""
    n_rows = data["model_shape"]["layers"] + 1  # compared with the data's length first: it may be any number
    return [] if len(data["layers"]) == n_rows and data["layers"] == layer_names(n_rows) else [
        f"layers is not the {n_rows} rows embeddings, layer 1 ... layer {n_rows - 1}"]


def sized(name: str, items: Sequence[Any], count: int, each: str) -> list[str]:
    """A problem unless items has count entries (each: what one entry is for, e.g. 'layer')."""
    return [] if len(items) == count else [f"{name} has {len(items)} entries for {count} {each}s"]


def table(name: str, rows: Sequence[Sequence[Any]], n_rows: int, n_columns: int, row: str = "layer",
          column: str = "position") -> list[str]:
    """A problem unless rows is n_rows rows of n_columns entries each."""
    if len(rows) != n_rows:
        return [f"{name} has {len(rows)} rows for {n_rows} {row}s"]
    short = next((i for i, r in enumerate(rows) if len(r) != n_columns), None)
    return [] if short is None else [f"{name} row {short} has {len(rows[short])} entries for {n_columns} {column}s"]


def probabilities(name: str, values: Iterable[float]) -> list[str]:
    """A problem for the first value outside [0, 1] (give or take rounding)."""
    bad = next((v for v in values if not -SLACK <= v <= 1 + SLACK), None)
    return [] if bad is None else [f"{name} {bad} is not a probability"]


def ranks(name: str, values: Iterable[int], data: dict[str, Any]) -> list[str]:
    """A problem for the first rank outside 1..vocab."""
    return within(name, values, 1, data["model_shape"]["vocab"])


def descending(name: str, values: Sequence[float]) -> list[str]:
    """A problem where a value is above the one before it (beyond rounding)."""
    bad = next((i for i in range(1, len(values)) if values[i] > values[i - 1] + TIE * abs(values[i - 1])), None)
    return [] if bad is None else [f"{name} are not sorted, highest first ({values[bad - 1]} then {values[bad]})"]


def agree(name: str, probs: Sequence[float], rank_of: Sequence[int]) -> list[str]:
    """A problem unless every probability clearly above another comes with a better (smaller) rank: ranks count
    the tokens above, so a more probable token never ranks behind a less probable one."""
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    above, best = 0, 0  # items of order[:above] are clearly more probable than the current one; best: their worst rank
    for i in order:
        while above < len(order) and probs[order[above]] > probs[i] * (1 + TIE) + 1e-300:
            best = max(best, rank_of[order[above]])
            above += 1
        if rank_of[i] <= best:
            return [f"{name}: probability {probs[i]} has rank {rank_of[i]}, but a more probable one has rank {best}"]
    return []
