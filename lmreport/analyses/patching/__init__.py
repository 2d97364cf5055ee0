"""The patching analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.options import MAX_PROMPT_CHARS, MAX_TOKEN_CHARS, PROMPT, Option
from lmreport.analyses.patching import compute, values, view
from lmreport.analyses.patching.runs import SITES
from lmreport.analyses.patching.schema import PatchingResult, consistent
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="patching",
    label="Activation patching: which activations carry the answer",
    summary="Causal tracing: the corrupted prompt run again with one activation of the clean prompt's run restored "
    "(the residual stream, an attention or MLP output at one position, or one head), and the share of the clean "
    "answer's logit difference (or probability) that comes back, as a layer × position (or layer × head) grid.",
    options=(
        PROMPT,
        Option("corrupted", str, None, "the corrupted prompt, as many tokens long as the prompt", nullable=True,
               max_chars=MAX_PROMPT_CHARS, nonempty=True),
        Option("replace", list, None, "[word, replacement]: the corrupted prompt is the prompt with the word's "
               "first occurrence replaced (instead of 'corrupted')", nullable=True, min_items=2, max_items=2,
               max_chars=200),
        Option("metric", str, "logit_diff", "logit_diff: logit(answer) − logit(wrong) at the last position; prob: "
               "p(answer)", choices=compute.METRICS),
        Option("answer", str, None, "the answer token (default: the clean prompt's top token)", nullable=True,
               max_chars=MAX_TOKEN_CHARS, nonempty=True),
        Option("wrong", str, None, "metric logit_diff: the token set against the answer (default: the corrupted "
               "prompt's top token, or its second when that is the answer)", nullable=True,
               max_chars=MAX_TOKEN_CHARS, nonempty=True),
        Option("site", str, "residual", "what is restored: residual (the residual stream at one position, the "
               "embeddings included), attn or mlp (a sub-block's output at one position), heads (one head's "
               "output at every position)", choices=SITES),
    ),
    compute=compute.compute,
    schema=PatchingResult,
    consistent=consistent,
    render=view.render,
    guide=view.guide,
    warnings=view.warnings,
    table=view.table,
    max_tokens=64,
    values=values.VALUES,
    needs=frozenset(),
)
