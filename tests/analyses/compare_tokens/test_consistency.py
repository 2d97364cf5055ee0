"""A real compare_tokens result passes its consistency check; crafted ones of the same shape whose parts disagree
are refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("position", [-1, 2])
def test_real_results_are_consistent(kind, position, request):
    checked("compare_tokens", request.getfixturevalue(kind), prompt=PROMPT, tokens=[" the", " is", " to"],
            position=position)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("compare_tokens", gpt2, prompt=PROMPT, tokens=[" the", " is", " to"])
    n = len(data["tokens"])
    worst = max(range(3), key=lambda c: data["candidates"][c]["ranks"][0])
    assert data["candidates"][worst]["ranks"][0] > min(c["ranks"][0] for c in data["candidates"])

    def swap_ranks(d):  # at the output, the most probable candidate ranked behind the least
        cands = d["candidates"]
        hi = max(range(3), key=lambda c: cands[c]["probs"][-1])
        lo = min(range(3), key=lambda c: cands[c]["probs"][-1])
        cands[hi]["ranks"][-1], cands[lo]["ranks"][-1] = cands[lo]["ranks"][-1], cands[hi]["ranks"][-1]

    refused("compare_tokens", data, lambda d: d["leader"].pop(), "leader has 3 entries for 4 layers")
    refused("compare_tokens", data, lambda d: d["leader"].__setitem__(1, 7), "a leader 7 is outside 0..2")
    refused("compare_tokens", data, lambda d: d["leader"].__setitem__(0, worst), "the leader at layer 0 has rank")
    refused("compare_tokens", data, lambda d: d.update(winner=(d["winner"] + 1) % 3), "winner")
    refused("compare_tokens", data, lambda d: d.update(leads_from_layer=d["leads_from_layer"] + 1), "leading from")
    refused("compare_tokens", data, lambda d: d["candidates"][1]["ranks"].append(1), "ranks has 5 entries")
    refused("compare_tokens", data, lambda d: d["candidates"][0]["probs"].__setitem__(2, -0.5), "a probability -0.5")
    refused("compare_tokens", data, lambda d: d["candidates"][2].update(id=-1), "a candidate's id -1 is outside")
    refused("compare_tokens", data, lambda d: d.update(position=n), f"the position {n} is outside")
    refused("compare_tokens", data, lambda d: d["input_ids"].pop(), f"{n - 1} input ids for {n} tokens")
    refused("compare_tokens", data, lambda d: d["candidates"].clear(), "there are no candidates")
    refused("compare_tokens", data, lambda d: d["layers"].__setitem__(0, "layer 0"), "layers is not the 4 rows")
    refused("compare_tokens", data, swap_ranks, "a more probable one has rank")
    refused("compare_tokens", data, lambda d: d["model_shape"].update(layers=10**9), "layers is not the")
