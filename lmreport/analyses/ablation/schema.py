"""The shape of a ablation result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import SLACK, TIE, agree, descending, probabilities, ranks
from lmreport.analyses.schema import STRICT, Computed, row

# How each rule's variants are made from the prompt (compute.make_variants): given whole (no change to mark),
# a span of the prompt replaced by a text, or tokens dropped (the text is then the other tokens' texts).
WHOLE, SPAN, TOKEN = ("variants", "shuffle"), ("drop_word", "replace", "prefix"), ("drop_token",)


class Target(TypedDict):
    token: str
    prob: float
    rank: int


class Likely(TypedDict):
    token: str
    prob: float


class PromptVariant(TypedDict):
    index: int
    text: str
    change: row(int, int, str) | None  # [start, end, inserted text] of the prompt, or None
    n_tokens: int
    kl: float
    targets: list[Target]
    top: list[Likely]


@with_config(STRICT)
class AblationResult(Computed):
    prompt: str
    rule: str
    tokens: list[str]
    rows: list[PromptVariant]
    order: list[int]


def consistent(data: dict[str, Any]) -> list[str]:
    """The base prompt comes first and `order` sorts the variants by KL divergence, as the table and the values
    read them; every row follows each named token once, with a probability and a rank that agree with its top
    tokens."""
    rows, tokens = data["rows"], data["tokens"]
    if not rows:
        return ["rows has no row for the base prompt"]
    base = rows[0]
    problems = [] if (base["text"], base["change"], base["kl"]) == (data["prompt"], None, 0) else [
        "the first row is not the base prompt, unchanged, at KL 0"]
    if sorted(data["order"]) != list(range(len(rows))) or data["order"][0] != 0:
        problems.append(f"order is not the {len(rows)} rows, the base prompt first")
    else:
        kls = [rows[i]["kl"] for i in data["order"][1:]]
        bad = next((i for i in range(1, len(kls)) if kls[i] > kls[i - 1]), None)
        if bad is not None:
            problems.append(f"order does not sort the variants by KL divergence ({kls[bad - 1]} then {kls[bad]})")
    shown = len(base["top"])
    for i, variant in enumerate(rows):
        where = f"row {i}"
        if variant["index"] != i:
            problems.append(f"{where} has index {variant['index']}")
        problems += _change(data, i, variant)
        if variant["n_tokens"] < 1 or variant["kl"] < 0:
            problems.append(f"{where}: {variant['n_tokens']} tokens and KL {variant['kl']} (at least 1, at least 0)")
        if [t["token"] for t in variant["targets"]] != tokens:
            problems.append(f"{where} does not follow the block's tokens, in order")
        top = variant["top"]
        if not 1 <= len(top) <= data["model_shape"]["vocab"] or len(top) != shown:
            problems.append(f"{where} has {len(top)} top tokens; the base prompt {shown}")
            continue
        top_probs = [t["prob"] for t in top]
        target_probs = [t["prob"] for t in variant["targets"]]
        target_ranks = [t["rank"] for t in variant["targets"]]
        problems += probabilities(f"{where}: a probability", top_probs + target_probs)
        problems += ranks(f"{where}: a rank", target_ranks, data)
        problems += descending(f"{where}: the top probabilities", top_probs)
        if sum(top_probs) > 1 + SLACK:
            problems.append(f"{where}: the top probabilities add up to {sum(top_probs)}")
        problems += agree(where, target_probs, target_ranks)
        for target in variant["targets"]:
            rank, prob = target["rank"], target["prob"]
            # ranked within the top tokens: the top token at that rank has its probability; ranked below: it has
            # no more than the last of them
            if 1 <= rank <= shown and abs(top_probs[rank - 1] - prob) > TIE * prob + 1e-300 or \
                    rank > shown and prob > top_probs[-1] * (1 + TIE):
                problems.append(f"{where}: {target['token']!r} has rank {rank} and probability {prob}, which "
                                "its top tokens contradict")
                break
    return problems



def _change(data: dict[str, Any], i: int, variant: dict[str, Any]) -> list[str]:
    """The span the table marks as changed is one the rule makes, and makes the variant's text from the prompt."""
    change, rule, prompt = variant["change"], data["rule"], data["prompt"]
    if change is not None and not 0 <= change[0] <= change[1]:
        return [f"row {i}: the changed span {change[0]}..{change[1]} is not a span"]
    if i == 0:
        return []  # the base prompt, unchanged
    if rule not in WHOLE + SPAN + TOKEN:
        return [f"the rule {rule!r} is not one of {', '.join(WHOLE + SPAN + TOKEN)}"]
    if (change is None) != (rule in WHOLE):
        return [f"row {i}: a variant of rule {rule!r} " + ("marks no change" if change is None else "marks a change")]
    if rule in TOKEN and (change[1] > len(prompt) or change[2] != ""):
        return [f"row {i}: the dropped token's span {change[0]}..{change[1]} is not of the prompt, or marks a text"]
    if rule in SPAN:
        start, end, new = change
        if end > len(prompt) or prompt[:start] + new + prompt[end:] != variant["text"]:
            return [f"row {i}: the change {change} does not make its text from the prompt"]
    return []
