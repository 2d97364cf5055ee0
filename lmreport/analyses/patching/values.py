"""What prose may cite from a patching result (`=id.value`), as plain functions of its data.

Rows count as on the page: for the residual stream 0 is the embeddings and n the residual stream after block n;
for the attention, MLP and heads sites n is block n (from 1). -1 is the last row, position or head."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import PROMPT_TOKENS, checked_block, checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def _row(data: dict[str, Any], layer: int) -> int:
    """A row as the page numbers it, as an index into the grid."""
    if data["site"] == "residual":
        return checked_index(layer, len(data["recovery"]), "layer")
    return checked_block(layer, len(data["recovery"]))


def _columns(data: dict[str, Any], wanted: str) -> None:
    if data["columns"] != wanted:
        other = "head_recovery and best_head" if wanted == "position" else "recovery and best_position"
        raise ReferenceProblem(f"this block patches {'heads' if data['site'] == 'heads' else 'positions'} "
                               f"(site {data['site']}): cite {other}")


def patching_recovery(data: dict[str, Any], layer: int, position: int) -> float:
    """share of the clean metric brought back by restoring one clean activation at a layer and position (0: the
    corrupted run's value, 1: the clean run's)"""
    _columns(data, "position")
    row = data["recovery"][_row(data, layer)]
    return float(row[checked_index(position, len(row), "position")])


def patching_head_recovery(data: dict[str, Any], layer: int, head: int) -> float:
    """for site heads: share of the clean metric brought back by restoring one head's output (every position) at
    a block (from 1) and head (from 0)"""
    _columns(data, "head")
    row = data["recovery"][_row(data, layer)]
    return float(row[checked_index(head, len(row), "head")])


def _best(data: dict[str, Any], layer: int | None = None, position: int | None = None) -> tuple[int, int, float]:
    """(row index, column, recovery) of the largest recovery, within a row or a column when one is named."""
    rows = range(len(data["recovery"])) if layer is None else [_row(data, layer)]
    width = len(data["recovery"][0])
    columns = range(width) if position is None else [checked_index(position, width, data["columns"])]
    return max(((r, c, data["recovery"][r][c]) for r in rows for c in columns), key=lambda cell: cell[2])


def patching_best_layer(data: dict[str, Any], position: int | None = None) -> int:
    """the layer whose restored activation brings back most: at a position (or head) if given, else the best
    cell's over the whole grid"""
    return int(data["layers"][_best(data, position=position)[0]])


def patching_best_position(data: dict[str, Any], layer: int | None = None) -> int:
    """the position whose restored activation brings back most: at a layer if given, else the best cell's over
    the whole grid"""
    _columns(data, "position")
    return _best(data, layer=layer)[1]


def patching_best_head(data: dict[str, Any], layer: int | None = None) -> int:
    """for site heads: the head whose restored output brings back most, at a block if given, else over the grid"""
    _columns(data, "head")
    return _best(data, layer=layer)[1]


def patching_best_token(data: dict[str, Any], layer: int | None = None) -> str:
    """the clean prompt's token at best_position (at a layer if given)"""
    return TokenText(data["tokens"][patching_best_position(data, layer)])


def patching_best_recovery(data: dict[str, Any], layer: int | None = None) -> float:
    """the largest recovery, at a layer if given, else over the whole grid"""
    return float(_best(data, layer=layer)[2])


def _rows_at_least(data: dict[str, Any], position: int, share: float) -> list[int]:
    _columns(data, "position")
    column = checked_index(position, len(data["tokens"]), "position")
    return [layer for layer, row in zip(data["layers"], data["recovery"], strict=True) if row[column] >= share]


def patching_first_layer(data: dict[str, Any], position: int, share: float = 0.5) -> int:
    """the first layer at which restoring a position brings back at least `share` of the clean metric"""
    rows = _rows_at_least(data, position, share)
    if not rows:
        raise NotApplicableHere(f"restoring position {position} brings back less than {share:g} at every layer")
    return rows[0]


def patching_last_layer(data: dict[str, Any], position: int, share: float = 0.5) -> int:
    """the last layer at which restoring a position brings back at least `share` of the clean metric"""
    rows = _rows_at_least(data, position, share)
    if not rows:
        raise NotApplicableHere(f"restoring position {position} brings back less than {share:g} at every layer")
    return rows[-1]


def patching_clean_metric(data: dict[str, Any]) -> float:
    """the metric (logit difference or probability) on the clean prompt"""
    return float(data["clean_metric"])


def patching_corrupted_metric(data: dict[str, Any]) -> float:
    """the metric on the corrupted prompt"""
    return float(data["corrupted_metric"])


def patching_answer(data: dict[str, Any]) -> str:
    """the answer token the metric reads (given, or the clean run's top token)"""
    return TokenText(data["answer"]["token"])


def patching_wrong(data: dict[str, Any]) -> str:
    """the token the answer is set against in metric logit_diff (given, or the corrupted run's top token)"""
    if data["wrong"] is None:
        raise ReferenceProblem("metric prob sets the answer against no token: there is no wrong token to cite")
    return TokenText(data["wrong"]["token"])


def patching_corrupted_token(data: dict[str, Any], position: int) -> str:
    """the corrupted prompt's token at a position (from 0; -1 the last)"""
    tokens = data["corrupted_tokens"]
    return TokenText(tokens[checked_index(position, len(tokens), "position")])


VALUES = {**MODEL, **PROMPT_TOKENS, "recovery": patching_recovery, "head_recovery": patching_head_recovery,
          "best_layer": patching_best_layer, "best_position": patching_best_position,
          "best_head": patching_best_head, "best_token": patching_best_token,
          "best_recovery": patching_best_recovery, "first_layer": patching_first_layer,
          "last_layer": patching_last_layer, "clean_metric": patching_clean_metric,
          "corrupted_metric": patching_corrupted_metric, "answer": patching_answer, "wrong": patching_wrong,
          "corrupted_token": patching_corrupted_token}
