"""A real compare_prompts result passes its consistency check; crafted ones of the same shape whose parts disagree
are refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPTS = ["The keys to the cabinet", "The key to the cabinet is"]


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("ratio", [None, [" is", " the"]])
def test_real_results_are_consistent(kind, ratio, request):
    checked("compare_prompts", request.getfixturevalue(kind), prompts=PROMPTS, tokens=[" the", " is", " to"],
            ratio=ratio)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("compare_prompts", gpt2, prompts=PROMPTS, tokens=[" the", " is"], ratio=[" the", " is"])
    vocab = data["model_shape"]["vocab"]

    def swap_ranks(d):  # the more probable candidate ranked behind the other at the output
        ranks, probs = d["prompts"][0]["ranks"], d["prompts"][0]["probs"]
        assert probs[0][-1] != probs[1][-1] and ranks[0][-1] != ranks[1][-1]
        ranks[0][-1], ranks[1][-1] = ranks[1][-1], ranks[0][-1]

    refused("compare_prompts", data, lambda d: d["layers"].pop(), "layers is not the 4 rows embeddings, layer 1")
    refused("compare_prompts", data, lambda d: d["prompts"].clear(), "0 prompts")
    refused("compare_prompts", data, lambda d: d["prompts"][0]["probs"][1].pop(), "probs row 1 has 3 entries")
    refused("compare_prompts", data, lambda d: d["prompts"][1]["ranks"].pop(), "ranks has 1 rows for 2 candidates")
    refused("compare_prompts", data, lambda d: d["prompts"][1]["ranks"][1].__setitem__(-1, 0), "a rank 0 is outside")
    refused("compare_prompts", data, lambda d: d["prompts"][0]["probs"][0].__setitem__(0, 2.0), "a probability 2.0")
    refused("compare_prompts", data, lambda d: d["prompts"][0].update(position=99), "the position 99 is outside")
    refused("compare_prompts", data, lambda d: d["candidates"][0].update(id=vocab), f"id {vocab} is outside")
    refused("compare_prompts", data, lambda d: d.update(ratio=[" the", " cat"]), "the ratio does not name two")
    refused("compare_prompts", data, lambda d: d["prompts"][1].update(log_ratio=None), "prompt 1 has no log ratio")
    refused("compare_prompts", data, lambda d: d["prompts"][1]["log_ratio"].pop(), "log_ratio has 3 entries")
    refused("compare_prompts", data, lambda d: d["prompts"][0]["log_ratio"].__setitem__(2, 5.0),
            "the log ratio 5.0 at layer 2 is not")
    refused("compare_prompts", data, swap_ranks, "a more probable one has rank")
    refused("compare_prompts", data, lambda d: d["model_shape"].update(layers=10**9), "layers is not the")
