"""The attribution analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.attribution import compute, values, view
from lmreport.analyses.attribution.compute import MAX_TOKENS, METHODS
from lmreport.analyses.attribution.schema import AttributionResult
from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, TARGET, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="attribution",
    label="Which prompt tokens count: input attribution",
    summary="How much each token of the prompt counts for one next token (log-probability, signed), by "
    "saliency, gradient × input, integrated gradients, occlusion, Shapley values, LIME and KernelSHAP (Captum).",
    options=(
        PROMPT,
        TARGET,
        Option("contrast", str, None, "explain log p(target) − log p(contrast) instead, e.g. ' are' against ' is'",
               nullable=True, max_chars=MAX_TOKEN_CHARS, nonempty=True),
        Option("methods", list, ["gradient_x_input", "integrated_gradients", "occlusion", "shapley"],
               "attribution methods, drawn one row each", choices=tuple(METHODS), max_items=len(METHODS)),
        Option("steps", int, 32, "integrated gradients: steps along the path", minimum=4, maximum=512),
        Option("samples", int, 25, "Shapley values, LIME and KernelSHAP: sampled orders or subsets", minimum=5,
               maximum=500),
    ),
    compute=compute.compute,
    schema=AttributionResult,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    max_tokens=MAX_TOKENS,
    values=values.VALUES,
    needs=frozenset(),
)
