"""A real ablation result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from lmreport.analyses.ablation.compute import RULES as COMPUTED_RULES
from lmreport.analyses.ablation.schema import SPAN, TOKEN, WHOLE
from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet are on the"


RULES = {"drop_word": {}, "drop_token": {}, "replace": {"word": "keys", "with": ["key", "", "cats"]},
         "prefix": {"with": ["Look: ", "Here"]}, "shuffle": {"count": 3}, "variants": {"variants": ["A b", "é"]}}


def test_every_rule_is_known_to_the_check():
    assert set(RULES) == set(WHOLE + SPAN + TOKEN) == set(COMPUTED_RULES)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_real_results_are_consistent(kind, rule, request):
    checked("ablation", request.getfixturevalue(kind), prompt=PROMPT + " é", tokens=[" the", " is", " on"],
            rule=rule, **RULES[rule])


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("ablation", gpt2, prompt=PROMPT, tokens=[" the", " is"], k=3)
    assert len(set(data["rows"][i]["kl"] for i in data["order"][1:])) > 2  # the variants' order is by KL

    def swap_top(d):
        d["rows"][1]["top"][0], d["rows"][1]["top"][1] = d["rows"][1]["top"][1], d["rows"][1]["top"][0]

    def rank_one(d):  # " is" ranked first, below the probability of the top token
        assert d["rows"][1]["targets"][1]["prob"] < d["rows"][1]["top"][0]["prob"]
        d["rows"][1]["targets"][1]["rank"] = 1

    def rank_far(d):  # " the" ranked below the top tokens, though it is one of them (rank 1)
        assert d["rows"][2]["targets"][0]["rank"] == 1
        d["rows"][2]["targets"][0]["rank"] = 50

    refused("ablation", data, lambda d: d["rows"].clear(), "no row for the base prompt")
    refused("ablation", data, lambda d: d["rows"].pop(), "order is not the")
    refused("ablation", data, lambda d: d["order"].reverse(), "order is not the")
    refused("ablation", data, lambda d: d.update(order=[0] + d["order"][:0:-1]), "does not sort the variants by KL")
    refused("ablation", data, lambda d: d["rows"][0].update(text="Another prompt"), "the first row is not the base")
    refused("ablation", data, lambda d: d["rows"][1].update(index=5), "row 1 has index 5")
    refused("ablation", data, lambda d: d["rows"][1].update(change=[5, 2, ""]), "5..2 is not a span")
    refused("ablation", data, lambda d: d["rows"][2]["change"].__setitem__(0, 0),
            "does not make its text from the prompt")
    refused("ablation", data, lambda d: d["rows"][2]["change"].__setitem__(2, "cat"), "does not make its text")
    refused("ablation", data, lambda d: d["rows"][2].update(change=None), "marks no change")
    refused("ablation", data, lambda d: d.update(rule="shuffle"), "a variant of rule 'shuffle' marks a change")
    refused("ablation", data, lambda d: d.update(rule="<b>"), "the rule '<b>' is not one of")
    refused("ablation", data, lambda d: d["rows"][1].update(n_tokens=0), "row 1: 0 tokens")
    refused("ablation", data, lambda d: d["rows"][1]["targets"].pop(), "does not follow the block's tokens")
    refused("ablation", data, lambda d: d["rows"][1]["top"].pop(), "row 1 has 2 top tokens; the base prompt 3")
    refused("ablation", data, lambda d: d["rows"][2]["targets"][1].update(rank=10**9), "rank 1000000000 is outside")
    refused("ablation", data, lambda d: d["rows"][3]["targets"][0].update(prob=1.5), "a probability 1.5")
    refused("ablation", data, swap_top, "the top probabilities are not sorted")
    refused("ablation", data, rank_one, "which its top tokens contradict")
    refused("ablation", data, rank_far, "which its top tokens contradict")
    refused("ablation", data, lambda d: d["rows"][1]["top"][0].update(prob=0.999), "add up to")
    refused("ablation", data, lambda d: d["model_shape"].update(vocab=2), "row 0 has 3 top tokens")
