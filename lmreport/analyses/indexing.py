"""Options that name a part of the model or of the prompt (a layer, a head, a position, a number of tokens),
checked all at once against the model's sizes and the prompts' lengths before anything is computed.

A block that names a part its model lacks is not drawn on that model: the page says why, the build warns at the
block's line (an error with --strict), and the prose's references to it are n/a. So a course written for a deep
model still builds on a shallow one, and every such problem of a block is reported together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lmreport.analyses.common import block_index
from lmreport.analyses.options import Option


def index_problems(options: Sequence[Option], values: Mapping[str, Any], shape: Mapping[str, int],
                   token_counts: Sequence[int]) -> list[tuple[str, str]]:
    """(option, what is wrong) for every value of an indexing option that the model or prompt does not have.
    values holds the options that parsed (a block with other errors still gets these checked); token_counts has
    one entry per prompt the block runs on (none: positions are not checked)."""
    problems: list[tuple[str, str]] = []
    for option in options:
        if not option.indexes or values.get(option.name) is None:
            continue
        value = values[option.name]
        found = {item: _problem(option.indexes, item, shape, token_counts)
                 for item in (value if isinstance(value, list) else [value])}
        bad = [str(item) for item, message in found.items() if message is not None]
        if bad:
            message = next(m for m in found.values() if m is not None)
            asked = bad[0] if len(bad) == 1 else ", ".join(bad[:-1]) + " and " + bad[-1]
            problems.append((option.name, f"the block asks for {option.name} {asked}, and {message}"))
    return problems


def _problem(kind: str, value: int, shape: Mapping[str, int], token_counts: Sequence[int]) -> str | None:
    if kind == "layer":
        n = shape["layers"]
        if block_index(value, n) is None:
            return f"the model has {_count(n, 'block')} (1 to {n}; blocks count from 1, -1 is the last)"
        return None
    if kind == "head":
        n = shape["heads"]
        if not -n <= value < n:
            return f"the model has {_count(n, 'head')} per layer (0 to {n - 1}, or -1 for the last)"
        return None
    if kind == "vocab":  # a number of tokens to list
        n = shape["vocab"]
        if value > n:
            return f"the model's vocabulary has {_count(n, 'token')}"
        return None
    if kind == "position":
        if not token_counts:
            return None
        short = min(token_counts)
        if not -short <= value < short:
            which = "the prompt has" if len(token_counts) == 1 else \
                f"prompt {list(token_counts).index(short) + 1} of {len(token_counts)} has"
            return f"{which} {_count(short, 'token')} (0 to {short - 1}, or -1 for the last)"
        return None
    raise ValueError(f"unknown index kind {kind!r}")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def not_drawn(analysis: str, model: str, problems: list[tuple[str, str]]) -> str:
    """Why a block is not drawn on a model (its page shows it after "Not drawn:", the build warns with it)."""
    return f"{analysis} on {model}: " + "; ".join(message for _, message in problems)
