"""The analyses a lesson can name, registered by name."""

from __future__ import annotations

import difflib

from ..errors import LmreportError, short
from . import (
    ablation,
    attention,
    attribution,
    compare_prompts,
    compare_tokens,
    flow,
    generate,
    heads,
    hidden_states,
    logit_lens,
    neuron_view,
    neurons,
    rank_evolution,
    topk,
)
from .base import Analysis, Option, OptionError

_MODULES = (
    attention, neuron_view, topk, logit_lens, rank_evolution, compare_tokens, compare_prompts, hidden_states,
    neurons, generate, attribution, ablation, heads, flow,
)
REGISTRY: dict[str, Analysis] = {m.ANALYSIS.name: m.ANALYSIS for m in _MODULES}

__all__ = ["REGISTRY", "Analysis", "Option", "OptionError", "get", "unknown_message"]


def unknown_message(name: str) -> str:
    valid = ", ".join(sorted(REGISTRY))
    close = difflib.get_close_matches(name, REGISTRY, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown analysis '{short(name, 40)}' (valid: {valid}){hint}"


def get(name: str) -> Analysis:
    """The analysis of that name; the error lists the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise LmreportError(unknown_message(name)) from None
