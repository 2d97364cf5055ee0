"""A real topk result passes its consistency check; crafted ones of the same shape whose parts disagree are refused
(see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("options", [{"k": 7}, {"k": 320, "temperature": 0.05}, {"k": 1, "position": 0},
                                     {"k": 50, "temperature": 100.0}])
def test_real_results_are_consistent(kind, options, request):
    checked("topk", request.getfixturevalue(kind), prompt=PROMPT, **options)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("topk", gpt2, prompt=PROMPT, k=7)
    n, vocab = len(data["tokens"]), data["model_shape"]["vocab"]

    def swap_probs(d):
        first, second = d["predictions"][:2]
        first["prob"], second["prob"] = second["prob"], first["prob"]

    def swap_logits(d):
        first, second = d["predictions"][:2]
        first["logit"], second["logit"] = second["logit"], first["logit"]

    refused("topk", data, lambda d: d["predictions"][0].update(rank=2), "the 7 predictions are not ranked 1 to 7")
    refused("topk", data, lambda d: d["predictions"].clear(), "the 0 predictions are not ranked")
    refused("topk", data, lambda d: d["predictions"][1].update(id=d["predictions"][0]["id"]), "predicted twice")
    refused("topk", data, lambda d: d["predictions"][0].update(id=vocab), f"a predicted id {vocab} is outside")
    refused("topk", data, lambda d: d["predictions"][0].update(prob=-0.25), "a probability -0.25")
    refused("topk", data, lambda d: d["predictions"][0].update(prob=0.999), "the probabilities add up to")
    refused("topk", data, swap_probs, "the probabilities are not sorted, highest first")
    refused("topk", data, swap_logits, "rank 1 has a lower logit than rank 2")
    refused("topk", data, lambda d: d.update(position=n), f"the position {n} is outside")
    refused("topk", data, lambda d: d.update(entropy=100.0), "the entropy 100.0 is outside 0..ln(320)")
    refused("topk", data, lambda d: d.update(temperature=0.0), "the temperature 0.0 is not above 0")
    refused("topk", data, lambda d: d["tokens"].pop(), f"{n} input ids for {n - 1} tokens")
    refused("topk", data, lambda d: d.update(tokens=[], input_ids=[]), "the prompt has no tokens")
    refused("topk", data, lambda d: d["model_shape"].update(vocab=3), "predictions are not ranked 1 to 7")
