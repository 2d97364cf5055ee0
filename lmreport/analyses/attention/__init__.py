"""The attention analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.attention import compute, values, view
from lmreport.analyses.attention.compute import VIEWS
from lmreport.analyses.attention.schema import AttentionResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="attention",
    label="Attention",
    summary="BertViz head view (one layer, all heads) and model view (every layer and head) of the prompt.",
    options=(
        PROMPT,
        Option("views", list, ["head", "model"], "which views to draw: head, model (BertViz), heatmap (query × key, "
               "one head or a layer's mean)", choices=VIEWS),
        Option("layer", int, 1, "the layer the head view and heatmap open on: blocks count from 1 "
               "(layer 0 is the embeddings, layer n the output of block n); -1 is the last", indexes="layer"),
        Option("head", int, None, "the head the heatmap opens on (from 0; -1 is the last); default: the mean of "
               "the layer's heads", nullable=True, indexes="head"),
        Option("focus", str, None, "open the views on the head that follows a pattern most, instead of `layer` "
               "and `head`: first (the first-token sink), previous (the token before), induction (copying: the "
               "token after the same token's previous occurrence)", nullable=True, choices=values.PATTERNS),
    ),
    compute=compute.compute,
    schema=AttentionResult,
    consistent=consistent,
    render=view.render,
    guide=view.guide,
    needs=frozenset({"attentions"}),
    comparable=False,
    values=values.VALUES,
    max_tokens=256,
    try_prompt=view.try_prompt,
)
