"""The attribution analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.attribution import compute, values, view
from lmreport.analyses.attribution.compute import MAX_TOKENS, METHODS
from lmreport.analyses.attribution.schema import AttributionResult, consistent
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
        Option("steps", int, 8, "integrated gradients: Gauss–Legendre points per piece of the path (the path is cut "
               "in two where its scores have not settled)", minimum=2, maximum=64),
        Option("max_steps", int, 2048, "integrated gradients: points in all, at most; if the scores have not "
               "settled by then, the method names no top token and the build warns", minimum=8, maximum=16384),
        Option("tolerance", float, 0.05, "integrated gradients: the error allowed, as a share of |f(prompt) − "
               "f(baseline)| (or of 1 when that is smaller): both the estimated error of the scores (summed over "
               "the tokens) and how far they are from adding up to that difference", minimum=0.001, maximum=0.5),
        Option("samples", int, 25, "Shapley values, LIME and KernelSHAP: sampled orders or subsets", minimum=5,
               maximum=500),
    ),
    compute=compute.compute,
    schema=AttributionResult,
    consistent=consistent,
    warnings=view.warnings,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    max_tokens=MAX_TOKENS,
    values=values.VALUES,
    needs=frozenset(),
)
