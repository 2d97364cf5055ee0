"""What prose may cite from a rank_evolution result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import (
    candidate_enters,
    candidate_first_from,
    candidate_prob,
    candidate_rank,
    checked_index,
    first_row_from,
)
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import TokenText


def rank_predicted(data: dict[str, Any], position: int = -1) -> str:
    """the token the model predicts after a position"""
    tokens = data["output_tokens"]
    return TokenText(tokens[checked_index(position, len(tokens), "position")])


def output_rank(data: dict[str, Any], layer: int = -1, position: int = -1) -> int:
    """rank, at a layer, of the token the model finally predicts after a position"""
    rows = data["output_ranks"]
    row = rows[checked_index(layer, len(rows), "layer")]
    return int(row[checked_index(position, len(row), "position")])


def output_first_from(data: dict[str, Any], position: int = -1) -> int:
    """the layer from which the finally predicted token is ranked first through the output"""
    rows = data["output_ranks"]
    at = checked_index(position, len(rows[0]), "position")
    return first_row_from([row[at] == 1 for row in rows])


def output_enters(data: dict[str, Any], k: int, position: int = -1) -> int:
    """the layer from which the finally predicted token stays among the k best-ranked tokens through the output"""
    rows = data["output_ranks"]
    at = checked_index(position, len(rows[0]), "position")
    return first_row_from([row[at] <= k for row in rows])


VALUES = {**MODEL, "enters": candidate_enters, "output_enters": output_enters,
                  "prob": candidate_prob, "rank": candidate_rank, "first_from": candidate_first_from,
                  "predicted": rank_predicted, "output_rank": output_rank, "output_first_from": output_first_from}
