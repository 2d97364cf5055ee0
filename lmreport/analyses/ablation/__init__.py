"""The ablation analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from lmreport.analyses.ablation import compute, values, view
from lmreport.analyses.ablation.compute import MAX_VARIANTS, RULES
from lmreport.analyses.ablation.schema import AblationResult, consistent
from lmreport.analyses.options import MAX_TOKEN_CHARS, PROMPT, Option
from lmreport.analyses.spec import Analysis

ANALYSIS = Analysis(
    name="ablation",
    label="Prompt ablation: what each change does",
    summary="Variants of a prompt (given, or made by dropping each word or token, replacing a word, adding a prefix "
    "or shuffling the words): the named "
    "tokens' probability and rank, the top tokens, and the KL divergence from the base prompt, sorted by effect.",
    options=(
        PROMPT,
        Option("tokens", list, help="next tokens to follow in every variant", max_items=8,
               max_chars=MAX_TOKEN_CHARS),
        Option("rule", str, "drop_word", "how variants are made", choices=RULES),
        Option("variants", list, [], "the variants, for rule 'variants'", min_items=0, max_items=MAX_VARIANTS,
               max_chars=20_000),
        Option("word", str, None, "rule 'replace': the word of the prompt to replace", nullable=True,
               max_chars=200, nonempty=True),
        Option("with", list, [], "rule 'replace': what to put in the word's place; rule 'prefix': what to put "
               "before the prompt", min_items=0, max_items=MAX_VARIANTS, max_chars=200),
        Option("count", int, 5, "rule 'shuffle': how many orders of the words", minimum=1, maximum=MAX_VARIANTS),
        Option("seed", int, 0, "rule 'shuffle': the seed the orders are drawn with", minimum=0, maximum=2**32 - 1),
        Option("k", int, 3, "top tokens shown per variant", minimum=1, maximum=10),
    ),
    compute=compute.compute,
    schema=AblationResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    max_tokens=256,
    values=values.VALUES,
    needs=frozenset(),
)
