"""What prose may cite from a logit_lens result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index, first_row_from
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, TokenText


def lens_gain_changes(data: dict[str, Any]) -> int:
    """how many cells (layer × position) have another top token when the final norm's learned gain (and bias)
    is left out and the vector only normalised"""
    if data.get("gain_changed") is None:
        raise NotApplicableHere("the final norm is of no known form (RMS or LayerNorm): the gain is not separated")
    return len(data["gain_changed"])


def lens_cells(data: dict[str, Any]) -> int:
    """how many cells the lens has: rows (the embeddings, after each block) × positions"""
    return len(data["top_ids"]) * len(data["tokens"])


def lens_top(data: dict[str, Any], layer: int = -1, position: int = -1) -> str:
    """the top token at a layer and position (default: the output after the last token)"""
    rows = data["top_tokens"]
    row = rows[checked_index(layer, len(rows), "layer")]
    return TokenText(row[checked_index(position, len(row), "position")][0])


def lens_top_prob(data: dict[str, Any], layer: int = -1, position: int = -1) -> float:
    """probability of the top token at a layer and position"""
    rows = data["top_probs"]
    row = rows[checked_index(layer, len(rows), "layer")]
    return float(row[checked_index(position, len(row), "position")][0])


def lens_top_from(data: dict[str, Any], token: str, position: int = -1) -> int:
    """the layer from which a token is the top token at a position through the output"""
    rows = data["top_tokens"]
    at = checked_index(position, len(rows[0]), "position")
    flags = [row[at][0] == token for row in rows]
    row = first_row_from(flags)
    if row == len(rows):
        raise NotApplicableHere(f"{token!r} is not the top token at the output (that is {rows[-1][at][0]!r})")
    return row


VALUES = {**MODEL, "top": lens_top, "top_prob": lens_top_prob, "top_from": lens_top_from,
              "gain_changes": lens_gain_changes, "cells": lens_cells}
