"""A real rank_evolution result passes its consistency check; crafted ones of the same shape whose parts disagree
are refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from lmreport.errors import NotApplicable
from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


def writable(loaded, text, id_):
    """Whether a candidate written as text is the token id_."""
    try:
        return loaded.single_token(text) == id_
    except NotApplicable:
        return False


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_real_results_are_consistent(kind, request):
    loaded = request.getfixturevalue(kind)
    data = checked("rank_evolution", loaded, prompt=PROMPT)
    checked("rank_evolution", loaded, prompt=PROMPT, tokens=[" the", " is", " to"], position=2)
    # a named token that is the model's own prediction there is ranked as the prediction is
    position, text = next((p, text) for p, i in enumerate(data["output_ids"])
                          if (text := loaded.tokenizer.decode([i])) and writable(loaded, text, i))
    named = checked("rank_evolution", loaded, prompt=PROMPT, tokens=[text], position=position)
    assert named["candidates"][0]["ranks"] == [row[position] for row in named["output_ranks"]]


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("rank_evolution", gpt2, prompt=PROMPT, tokens=[" the", " is"])
    n, position = len(data["tokens"]), data["position"]
    other = next(c for c, cand in enumerate(data["candidates"])
                 if cand["ranks"] != [row[position] for row in data["output_ranks"]])

    def swap_ranks(d):  # at the output, the more probable named token ranked behind the other
        a, b = d["candidates"]
        assert a["probs"][-1] != b["probs"][-1] and a["ranks"][-1] != b["ranks"][-1]
        a["ranks"][-1], b["ranks"][-1] = b["ranks"][-1], a["ranks"][-1]

    refused("rank_evolution", data, lambda d: d["output_ranks"][-1].__setitem__(0, 2), "not first")
    refused("rank_evolution", data, lambda d: d["output_ids"].pop(), f"output_ids has {n - 1} entries for {n} tokens")
    refused("rank_evolution", data, lambda d: d["output_tokens"].append("x"), "output_tokens has")
    refused("rank_evolution", data, lambda d: d["output_probs"][1].pop(), "output_probs row 1 has")
    refused("rank_evolution", data, lambda d: d["output_ranks"].pop(), "output_ranks has 3 rows for 4 layers")
    refused("rank_evolution", data, lambda d: d["output_ranks"][0].__setitem__(3, 0), "a rank 0 is outside")
    refused("rank_evolution", data, lambda d: d["output_probs"][0].__setitem__(3, 1.01), "a probability 1.01")
    refused("rank_evolution", data, lambda d: d["output_ids"].__setitem__(0, -1), "a predicted id -1 is outside")
    refused("rank_evolution", data, lambda d: d.update(position=None), "a position is given without named tokens")
    refused("rank_evolution", data, lambda d: d["candidates"].clear(), "a position is given without named tokens")
    refused("rank_evolution", data, lambda d: d.update(position=n), f"the position {n} is outside")
    refused("rank_evolution", data, lambda d: d["candidates"][0]["ranks"].pop(), "ranks has 3 entries for 4 layers")
    refused("rank_evolution", data, lambda d: d["layers"].reverse(), "layers is not the 4 rows")
    refused("rank_evolution", data, swap_ranks, "a more probable one has rank")
    refused("rank_evolution", data, lambda d: d["candidates"][other].update(id=d["output_ids"][position]),
            f"is the model's prediction at {position}, ranked otherwise")
    refused("rank_evolution", data, lambda d: d["model_shape"].update(layers=10**9), "layers is not the")
