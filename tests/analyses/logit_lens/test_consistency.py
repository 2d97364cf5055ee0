"""A real logit_lens result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("top", [1, 4])
def test_real_results_are_consistent(kind, top, request):
    checked("logit_lens", request.getfixturevalue(kind), prompt=PROMPT, top=top)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("logit_lens", gpt2, prompt=PROMPT, top=4)
    vocab = data["model_shape"]["vocab"]
    assert data["gain_changed"] is not None  # a LayerNorm: the gain is separated

    refused("logit_lens", data, lambda d: d["top_probs"].pop(), "top_probs has 3 rows for 4 layers")
    refused("logit_lens", data, lambda d: d["top_tokens"][2].pop(), "top_tokens row 2 has 7 entries for 8 positions")
    refused("logit_lens", data, lambda d: d["top_ids"][0][0].pop(), "do not all list the same number of tokens")
    refused("logit_lens", data, lambda d: d["top_tokens"][3][7].append("x"), "do not all list the same number")
    refused("logit_lens", data, lambda d: d["top_ids"][1][1].__setitem__(0, vocab), f"a top id {vocab} is outside")
    refused("logit_lens", data, lambda d: d["top_ids"][1][1].__setitem__(1, d["top_ids"][1][1][0]),
            "a cell lists a token twice")
    refused("logit_lens", data, lambda d: d["top_probs"][0][0].reverse(), "are not sorted, highest first")
    refused("logit_lens", data, lambda d: d["top_probs"][0][0].__setitem__(0, 1.2), "a top probability 1.2")
    refused("logit_lens", data, lambda d: d["top_probs"][2][3].__setitem__(0, 0.99), "or add up past 1")
    refused("logit_lens", data, lambda d: d.update(gain_changed=[[99, 0]]), "gain_changed names [99, 0], not a cell")
    refused("logit_lens", data, lambda d: d.update(gain_changed=[[0, 8]]), "gain_changed names [0, 8]")
    refused("logit_lens", data, lambda d: d.update(gain_changed=[[0]]), "gain_changed names [0]")
    refused("logit_lens", data, lambda d: d.update(gain_changed=[[0, 0], [0, 0]]), "gain_changed names a cell twice")
    refused("logit_lens", data, lambda d: d["layers"].append("layer 4"), "layers is not the 4 rows")
    refused("logit_lens", data, lambda d: d["tokens"].pop(), "8 input ids for 7 tokens")
    refused("logit_lens", data, lambda d: d["model_shape"].update(layers=10**9), "layers is not the")
