"""The heads analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.heads import compute, values, view
from lmreport.analyses.heads.schema import HeadsResult, consistent
from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, TARGET, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="heads",
    label="Which heads write the answer: direct logit attribution",
    summary="Each attention head's direct contribution to a next token's logit (or to the difference of two "
    "tokens' logits), through the final norm with its scale held fixed, as a layer × head grid; a click shows "
    "where that head looked from the last token.",
    options=(
        PROMPT,
        TARGET,
        Option("contrast", str, None, "explain logit(target) − logit(contrast) instead", nullable=True,
               max_chars=MAX_TOKEN_CHARS, nonempty=True),
    ),
    compute=compute.compute,
    schema=HeadsResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    script="page.js",
    max_tokens=256,
    values=values.VALUES,
    needs=frozenset({"hidden_states", "attentions", "heads"}),
)
