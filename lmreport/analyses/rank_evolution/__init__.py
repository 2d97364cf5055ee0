"""The rank_evolution analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, Option
from lmreport.analyses.rank_evolution import compute, values, view
from lmreport.analyses.rank_evolution.schema import RankEvolutionResult, consistent
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="rank_evolution",
    label="Rank of the predicted token, layer by layer",
    summary=(
        "Through the logit lens (final norm applied), the rank at every layer of the token the model finally "
        "predicts at each position, and of any tokens you name."
    ),
    options=(
        PROMPT,
        Option("tokens", list, [], "tokens to follow at `position`, e.g. [\" Paris\", \" Rome\"]", min_items=0,
               max_chars=MAX_TOKEN_CHARS),
        Option("position", int, -1, "where the named tokens are ranked (-1: after the last token)", indexes="position"),
    ),
    compute=compute.compute,
    schema=RankEvolutionResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    needs=frozenset({"hidden_states"}),
    values=values.VALUES,
    max_tokens=256,
)
