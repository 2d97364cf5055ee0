"""The logit_lens analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.logit_lens import compute, values, view
from lmreport.analyses.logit_lens.schema import LogitLensResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="logit_lens",
    label="Logit lens: each layer's prediction",
    summary=(
        "What each layer would predict: every layer's hidden state passed through the model's final norm "
        "and unembedding; the last row is the model's own output."
    ),
    options=(
        PROMPT,
        Option("top", int, 5, "how many tokens each cell lists on hover", minimum=1, maximum=50),
    ),
    compute=compute.compute,
    schema=LogitLensResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states"}),
    values=values.VALUES,
    max_tokens=256,
    script="page.js",
    try_prompt=view.try_prompt,
)
