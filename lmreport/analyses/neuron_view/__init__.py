"""The neuron_view analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.neuron_view import compute, view
from lmreport.analyses.neuron_view.schema import NeuronViewResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis
from lmreport.glue.sizes import MODEL

ANALYSIS = Analysis(
    name="neuron_view",
    label="Neuron view: queries and keys",
    summary=(
        "BertViz neuron view: for one head, each token's query and key vectors, their element-wise product "
        "and dot product, and the attention that the softmax makes of them."
    ),
    options=(
        PROMPT,
        Option("layer", int, 1, "the layer shown first: blocks count from 1 (layer 0 is the embeddings, layer n "
               "the output of block n); -1 is the last", indexes="layer"),
        Option("head", int, 0, "the head shown first (0-based; -1 is the last)", indexes="head"),
        Option("layers", list, [], "layers to include, counted as `layer` is (default all; fewer makes a "
               "lighter page; -1 is the last)",
               item=int, min_items=0, max_items=256, indexes="layer"),
    ),
    compute=compute.compute,
    schema=NeuronViewResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states", "attentions"}),
    comparable=False,
    values=MODEL,
    max_tokens=64,
)
