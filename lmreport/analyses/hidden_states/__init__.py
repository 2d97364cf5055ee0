"""The hidden_states analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.hidden_states import compute, values, view
from lmreport.analyses.hidden_states.schema import HiddenStatesResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="hidden_states",
    label="Hidden states across layers",
    summary=(
        "The residual stream layer by layer: each token's vector norm, its cosine similarity to the next "
        "layer and to the last, and a 2-D PCA of every token's path through the layers."
    ),
    options=(
        PROMPT,
        Option("skip_first_token", bool, False,
               "leave the first token out of the PCA (its vector is often huge and would dominate)"),
    ),
    compute=compute.compute,
    schema=HiddenStatesResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states"}),
    values=values.VALUES,
    max_tokens=1024,
)
