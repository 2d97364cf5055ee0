"""The generate analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.generate import compute, values, view
from lmreport.analyses.generate.schema import GenerateResult, consistent
from lmreport.analyses.options import PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="generate",
    label="Generated text, token by token",
    summary=(
        "Generate N tokens (greedy, or sampled with a fixed seed) and show, for every new token, the top-k "
        "alternatives with the probabilities of the distribution the token came from (after the temperature "
        "when sampling)."
    ),
    options=(
        PROMPT,
        Option("new_tokens", int, 10, "how many tokens to generate", minimum=1, maximum=200),
        Option("k", int, 5, "alternatives shown per step", minimum=1, maximum=50),
        Option("sample", bool, False, "sample instead of always taking the most likely token"),
        Option("seed", int, 0, "random seed for sampling (the same seed gives the same text)",
               minimum=0, maximum=2**32 - 1),
        Option("temperature", float, 1.0, "sampling temperature", minimum=0.05, maximum=10),
        Option("attention", bool, False, "also draw attention views over prompt + generated text"),
        Option("views", list, ["head"], "attention views to draw when attention is true: head, model",
               choices=("head", "model")),
    ),
    compute=compute.compute,
    schema=GenerateResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset(),
    values=values.VALUES,
)
