"""What prose may cite from a attention result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_block, checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem


def attention_sink(data: dict[str, Any], layer: int) -> float:
    """the share of attention that goes to the first token at a layer (block 1 to n; -1 the last): the mean over
    heads and over every token after the first"""
    attn = data["attention"]
    rows = attn[checked_block(layer, len(attn))]
    shares = [row[0] for head in rows for row in head[1:]]
    if not shares:
        raise NotApplicableHere("the prompt is one token: no token can choose where to look")
    return sum(shares) / len(shares)


PATTERNS = ("first", "previous", "induction")


def pattern_pairs(tokens: list[str], pattern: str) -> list[tuple[int, int]]:
    """(query, key) pairs a pattern looks at: every later token's attention to the first token, or to the one
    before it, or (induction, "copying") to the token that followed the query token's previous occurrence."""
    if pattern == "first":
        return [(t, 0) for t in range(1, len(tokens))]
    if pattern == "previous":
        return [(t, t - 1) for t in range(1, len(tokens))]
    if pattern == "induction":
        pairs = []
        for t in range(len(tokens)):
            earlier = [s for s in range(t - 1) if tokens[s] == tokens[t]]
            if earlier:
                pairs.append((t, earlier[-1] + 1))
        return pairs
    raise ReferenceProblem(f"unknown pattern {pattern!r} (valid: {', '.join(PATTERNS)})")


def no_place(pattern: str) -> str:
    """Why a prompt has no (query, key) pair for a pattern."""
    return (f"the prompt has no place for the {pattern} pattern"
            + (" (no token occurs twice)" if pattern == "induction" else " (one token)"))


def _pairs(data: dict[str, Any], pattern: str) -> list[tuple[int, int]]:
    pairs = pattern_pairs(data["tokens"], pattern)
    if not pairs:
        raise NotApplicableHere(no_place(pattern))
    return pairs


def _pattern_score(data: dict[str, Any], pairs: list[tuple[int, int]], layer_index: int, head: int) -> float:
    weights = data["attention"][layer_index][head]
    return sum(weights[q][k] for q, k in pairs) / len(pairs)


def attention_pattern(data: dict[str, Any], pattern: str, layer: int, head: int) -> float:
    """how much one head (layer 1 to n, head from 0) follows a pattern: its mean attention from every token to
    the first token ("first"), to the token before it ("previous"), or, for a token seen before, to the token
    that followed its previous occurrence ("induction", the copying pattern)"""
    layer_index = checked_block(layer, len(data["attention"]))
    heads = data["attention"][layer_index]
    return _pattern_score(data, _pairs(data, pattern), layer_index, checked_index(head, len(heads), "head"))


def strongest_head(data: dict[str, Any], pattern: str) -> tuple[float, int, int]:
    """(score, 0-based layer index, head) of the head that follows a pattern most"""
    pairs = _pairs(data, pattern)
    return max((_pattern_score(data, pairs, layer, head), layer, head)
               for layer in range(len(data["attention"])) for head in range(len(data["attention"][layer])))


def attention_strongest(data: dict[str, Any], pattern: str) -> str:
    """the head that follows a pattern ("first", "previous", "induction") most, as 'layer L, head H'"""
    _, layer, head = strongest_head(data, pattern)
    return f"layer {layer + 1}, head {head}"


def attention_strongest_value(data: dict[str, Any], pattern: str) -> float:
    """how much the head that follows a pattern most follows it (its mean attention, as pattern())"""
    return strongest_head(data, pattern)[0]


VALUES = {**MODEL, "sink": attention_sink, "pattern": attention_pattern, "strongest": attention_strongest,
             "strongest_value": attention_strongest_value}
