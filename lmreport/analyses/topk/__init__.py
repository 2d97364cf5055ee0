"""The topk analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis
from lmreport.analyses.topk import compute, values, view
from lmreport.analyses.topk.schema import TopkResult, consistent

ANALYSIS = Analysis(
    name="topk",
    label="Next-token probabilities",
    summary="The k most likely next tokens after the prompt, as probabilities: the softmax of the logits divided "
    "by the temperature (1 by default: the model's own distribution).",
    options=(
        PROMPT,
        Option("k", int, 10, "how many tokens to show", minimum=1, maximum=1000),
        Option("position", int, -1, "predict the token after this position (-1: the last token)"),
        Option("temperature", float, 1.0, "divide the logits by this before the softmax: below 1 sharpens the "
               "distribution, above 1 flattens it (as sampling with that temperature would draw)",
               minimum=0.05, maximum=100.0),
    ),
    compute=compute.compute,
    schema=TopkResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    needs=frozenset(),
    values=values.VALUES,
)
