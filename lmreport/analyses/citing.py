"""The values prose may name from each analysis's result (`=capital.prob(" Paris")`), as plain functions of
the result's data. A problem that comes from the model (a layer it does not have, a token outside the k shown,
a token never ranked first) is NotApplicableHere: the reference shows "n/a" and the build warns (an error with
--strict), so a course written for one model still builds for another.

Layers count as the figures do: 0 is the embeddings, then one row per block, the last row being the model's
output; -1 is that last row. Values about a block (attention, heads, flow) take its number on the same scale:
block n is the one that makes row n, so blocks count from 1, and -1 is the last. Heads, positions and prompts
count from 0, -1 the last."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import block_index
from lmreport.glue.types import NotApplicableHere, ReferenceProblem, TokenText


def checked_index(value: int, size: int, what: str) -> int:
    if not -size <= value < size:
        raise NotApplicableHere(f"{what} {value} is out of range (0 to {size - 1}, or -1 for the last)")
    return value % size


def checked_block(value: int, size: int) -> int:
    """A block counted as on the pages (1 to size, or -1 the last) as a 0-based index."""
    index = block_index(value, size)
    if index is None:
        raise NotApplicableHere(f"layer {value} is out of range: blocks count 1 to {size} (or -1 for the last; "
                                "layer 0 is the embeddings, which no block is)")
    return index


def find_candidate(data: dict[str, Any], token: str) -> dict[str, Any]:
    for candidate in data["candidates"]:
        if candidate["text"] == token:
            return candidate
    named = ", ".join(repr(c["text"]) for c in data["candidates"]) or "none"
    raise ReferenceProblem(f"{token!r} is not one of the block's tokens ({named})")


def first_row_from(flags: list[bool]) -> int:
    """The first row from which every later row is true (len(flags) if the last is not)."""
    row = len(flags)
    while row > 0 and flags[row - 1]:
        row -= 1
    return row


def prompt_tokens(data: dict[str, Any]) -> int:
    """how many tokens the prompt is"""
    return len(data["tokens"])


def prompt_token(data: dict[str, Any], position: int) -> str:
    """the prompt's token at a position (from 0; -1 the last)"""
    return TokenText(data["tokens"][checked_index(position, len(data["tokens"]), "position")])


PROMPT_TOKENS = {"n_tokens": prompt_tokens, "token": prompt_token}


def candidate_prob(data: dict[str, Any], token: str, layer: int = -1) -> float:
    """probability of a candidate at a layer (default: the output)"""
    probs = find_candidate(data, token)["probs"]
    return float(probs[checked_index(layer, len(probs), "layer")])


def candidate_rank(data: dict[str, Any], token: str, layer: int = -1) -> int:
    """rank of a candidate at a layer (default: the output; 1 = most likely)"""
    ranks = find_candidate(data, token)["ranks"]
    return int(ranks[checked_index(layer, len(ranks), "layer")])


def candidate_first_from(data: dict[str, Any], token: str) -> int:
    """the layer from which a candidate is ranked first through the output"""
    ranks = find_candidate(data, token)["ranks"]
    row = first_row_from([r == 1 for r in ranks])
    if row == len(ranks):
        raise NotApplicableHere(f"{token!r} is not ranked first at the output (rank {ranks[-1]})")
    return row


def candidate_enters(data: dict[str, Any], token: str, k: int) -> int:
    """the layer from which a candidate stays among the k best-ranked tokens through the output"""
    ranks = find_candidate(data, token)["ranks"]
    row = first_row_from([r <= k for r in ranks])
    if row == len(ranks):
        raise NotApplicableHere(f"{token!r} is not among the top {k} at the output (rank {ranks[-1]})")
    return row
