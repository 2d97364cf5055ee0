"""The compare_tokens analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.compare_tokens import compute, values, view
from lmreport.analyses.compare_tokens.schema import CompareTokensResult, consistent
from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="compare_tokens",
    label="Competing next tokens, layer by layer",
    summary=(
        "Two or more candidate next tokens (\" is\" vs \" are\"): their rank and probability at every layer "
        "(logit lens, final norm applied), to see where the answer overtakes."
    ),
    options=(
        PROMPT,
        Option("tokens", list, help="the candidates, each a single token, e.g. [\" is\", \" are\"]", min_items=2,
               max_chars=MAX_TOKEN_CHARS),
        Option("position", int, -1, "compare the predictions after this position (-1: the last token)",
               indexes="position"),
    ),
    compute=compute.compute,
    schema=CompareTokensResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states"}),
    values=values.VALUES,
)
