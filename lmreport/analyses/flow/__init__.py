"""The flow analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.flow import compute, values, view
from lmreport.analyses.flow.compute import MAX_TOKENS
from lmreport.analyses.flow.schema import FlowResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="flow",
    label="How information flows: routes through attention and MLPs",
    summary="Information-flow routes (Ferrando & Voita, 2024): how much each token read by each head, and each "
    "MLP, counts in the residual stream layer by layer (L1 proximity), kept above a threshold from a position's "
    "output back to the inputs, as a graph the reader can prune; a click lists the heads and neurons that count "
    "and the tokens they promote.",
    options=(
        PROMPT,
        Option("position", int, -1, "the position whose output the routes lead to (-1: the last)",
               minimum=-MAX_TOKENS, maximum=MAX_TOKENS - 1, indexes="position"),
        Option("threshold", float, 0.04, "an edge stays on a route if its share is above this (the page can "
               "raise it)", minimum=0.001, maximum=1),
        Option("floor", float, 0.01, "the lowest threshold the page offers (edges below it are not sent)",
               minimum=0.001, maximum=1),
        Option("details", int, 3, "heads and neurons listed per node", minimum=1, maximum=8),
    ),
    compute=compute.compute,
    schema=FlowResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    script="page.js",
    max_tokens=MAX_TOKENS,
    values=values.VALUES,
)
