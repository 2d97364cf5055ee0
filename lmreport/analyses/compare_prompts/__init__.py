"""The compare_prompts analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.compare_prompts import compute, values, view
from lmreport.analyses.compare_prompts.schema import ComparePromptsResult, consistent
from lmreport.analyses.options import MAX_PROMPT_CHARS, MAX_TOKEN_CHARS, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="compare_prompts",
    label="Prompts compared",
    summary=(
        "Several prompts × candidate tokens: each candidate's probability and rank at every layer and at the "
        "output, with an optional log-ratio between two candidates (bias and sensitivity studies)."
    ),
    options=(
        Option("prompts", list, help="the prompts to compare, e.g. [\"The doctor said that\", ...]", min_items=1,
               max_items=32, max_chars=MAX_PROMPT_CHARS),
        Option("tokens", list, help="candidate next tokens, each a single token, e.g. [\" he\", \" she\"]",
               max_chars=MAX_TOKEN_CHARS),
        Option("position", int, -1, "compare predictions after this position of each prompt (-1: the last)",
               indexes="position"),
        Option("ratio", list, None, "two candidates whose log-ratio ln(p_a / p_b) to show per layer",
               nullable=True, min_items=2, max_items=2, max_chars=MAX_TOKEN_CHARS),
    ),
    compute=compute.compute,
    schema=ComparePromptsResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=compute.NEEDS,
    values=values.VALUES,
)
