"""The analyses a lesson can name, registered by name."""

from __future__ import annotations

import difflib

from ..errors import LmreportError
from . import attention, logit_lens, topk
from .base import Analysis, Option, OptionError

REGISTRY: dict[str, Analysis] = {a.name: a for a in (attention.ANALYSIS, logit_lens.ANALYSIS, topk.ANALYSIS)}

__all__ = ["REGISTRY", "Analysis", "Option", "OptionError", "get", "unknown_message"]


def unknown_message(name: str) -> str:
    valid = ", ".join(sorted(REGISTRY))
    close = difflib.get_close_matches(name, REGISTRY, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown analysis '{name}' (valid: {valid}){hint}"


def get(name: str) -> Analysis:
    """The analysis of that name; the error lists the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise LmreportError(unknown_message(name)) from None
