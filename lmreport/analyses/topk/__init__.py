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
        Option("k", int, 10, "how many tokens to show", minimum=1, maximum=1000, indexes="vocab"),
        Option("position", int, -1, "predict the token after this position (-1: the last token)", indexes="position"),
        Option("temperature", float, 1.0, "divide the logits by this before the softmax: below 1 sharpens the "
               "distribution, above 1 flattens it (as sampling with that temperature would draw)",
               minimum=0.05, maximum=100.0),
        Option("xmax", float, None, "end the probability axis here, so that figures with the same xmax compare bar "
               "for bar; a longer bar is never cut: the axis is extended to fit it, with a warning",
               minimum=0.001, maximum=1.0, nullable=True),
        Option("scale_with", str, None, "the id of another topk block of this lesson: the two (and every topk block "
               "linked to either) draw one probability axis, long enough for the largest probability among them",
               nullable=True, max_chars=40, pattern=r"[A-Za-z_][A-Za-z0-9_]*",
               pattern_help="a block id (letters, digits and '_', not starting with a digit)", block="topk"),
    ),
    compute=compute.compute,
    schema=TopkResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    needs=frozenset(),
    values=values.VALUES,
    linked=view.shared_axis,
    try_prompt=view.try_prompt,
)
