"""The neurons analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.neurons import compute, values, view
from lmreport.analyses.neurons.schema import NeuronsResult, consistent
from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="neurons",
    label="MLP neurons",
    summary=(
        "MLP neuron activations: the most active neurons per token and layer; the neurons that most raise "
        "the output token (activation × output weight projected on the unembedding); and an NMF of all "
        "activations shown as token highlighting."
    ),
    options=(
        PROMPT,
        Option("top", int, 5, "neurons listed per token and layer", minimum=1, maximum=50),
        Option("token", str, None, "the output token to explain (default: the model's top prediction)",
               nullable=True, max_chars=MAX_TOKEN_CHARS),
        Option("position", int, -1, "the position whose prediction is explained (-1: the last)", indexes="position"),
        Option("contributors", int, 10, "neurons shown that raise (and that lower) the token most", minimum=1,
               maximum=100),
        Option("factors", int, 5, "number of NMF factors", minimum=1, maximum=20),
    ),
    compute=compute.compute,
    schema=NeuronsResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states", "mlp"}),
    values=values.VALUES,
    max_tokens=512,
)
