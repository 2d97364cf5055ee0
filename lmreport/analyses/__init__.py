"""The analyses a lesson can name: the one registry. Each is a folder of this package (compute, values, view,
schema, and a page script where it has one) whose __init__ declares its spec; adding one is adding its folder
and its name below."""

from __future__ import annotations

import difflib
import importlib

from markupsafe import Markup

from lmreport.analyses.options import Option, OptionError
from lmreport.analyses.spec import Analysis
from lmreport.errors import LmreportError, short
from lmreport.result import Result
from lmreport.views.figure import Figure

NAMES = (
    "attention", "neuron_view", "topk", "logit_lens", "rank_evolution", "compare_tokens", "compare_prompts",
    "hidden_states", "neurons", "generate", "attribution", "ablation", "heads", "flow", "patching", "hidden_map",
    "probe",
)
REGISTRY: dict[str, Analysis] = {}

__all__ = ["NAMES", "REGISTRY", "Analysis", "Option", "OptionError", "get", "register", "render", "unknown_message"]


def register(analysis: Analysis) -> Analysis:
    """Add an analysis to the registry (the folders of NAMES are added at import; a test or a plugin may add
    its own); a name already taken is an error."""
    if analysis.name in REGISTRY and REGISTRY[analysis.name] is not analysis:
        raise LmreportError(f"an analysis named '{analysis.name}' is registered already")
    REGISTRY[analysis.name] = analysis
    return analysis


for _name in NAMES:
    register(importlib.import_module(f"{__name__}.{_name}").ANALYSIS)


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


def render(result: Result, figure_id: str) -> Figure:
    """The figure of a result; figure_id must be unique on its page. A block skipped for its model gets a note."""
    if "skipped" in result.data:
        return Figure(html=str(Markup('<p class="figure-skipped">Not drawn: {}</p>').format(result.data["skipped"])))
    return get(result.analysis).render(result, figure_id)
