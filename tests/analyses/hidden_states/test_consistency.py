"""A real hidden_states result passes its consistency check; crafted ones of the same shape whose parts disagree
are refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("skip", [False, True])
def test_real_results_are_consistent(kind, skip, request):
    checked("hidden_states", request.getfixturevalue(kind), prompt=PROMPT, skip_first_token=skip)
    checked("hidden_states", request.getfixturevalue(kind), prompt="The", skip_first_token=skip)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("hidden_states", gpt2, prompt=PROMPT, skip_first_token=True)
    vocab = data["model_shape"]["vocab"]

    refused("hidden_states", data, lambda d: d["norms"].pop(), "norms has 3 rows for 4 layers")
    refused("hidden_states", data, lambda d: d["layers"].reverse(), "layers is not the 4 rows embeddings")
    refused("hidden_states", data, lambda d: d["cos_next"].append(list(d["cos_next"][0])), "cos_next has 4 rows for 3")
    refused("hidden_states", data, lambda d: d["cos_last"][0].pop(), "cos_last row 0 has 7 entries for 8 positions")
    refused("hidden_states", data, lambda d: d["pca"]["points"][1].pop(), "the PCA's points row 1 has 6 entries for 7")
    refused("hidden_states", data, lambda d: d["pca"]["points"][0][0].append(0.0), "has 3 coordinates, not 2")
    refused("hidden_states", data, lambda d: d["pca"].update(first_position=2), "first position 2 is outside 0..1")
    refused("hidden_states", data, lambda d: d["pca"].update(first_position=0), "the PCA's points row 0 has 7")
    refused("hidden_states", data, lambda d: d["norms"][1].__setitem__(1, -1.0), "a norm -1.0 is negative")
    refused("hidden_states", data, lambda d: d["cos_last"][0].__setitem__(0, 1.5), "a cosine similarity 1.5")
    refused("hidden_states", data, lambda d: d["pca"].update(explained_variance_ratio=[0.9, 0.8]),
            "explained variance ratio [0.9, 0.8]")
    assert data["pca"]["explained_variance_ratio"][0] > data["pca"]["explained_variance_ratio"][1]
    refused("hidden_states", data, lambda d: d["pca"]["explained_variance_ratio"].reverse(), "the larger first")
    refused("hidden_states", data, lambda d: d["cos_last"][-1].__setitem__(2, 0.5), "to itself is 0.5, not 1")
    refused("hidden_states", data, lambda d: d["input_ids"].__setitem__(0, vocab), f"an input id {vocab} is outside")
    refused("hidden_states", data, lambda d: d["model_shape"].update(layers=10**9), "norms has 4 rows for")
