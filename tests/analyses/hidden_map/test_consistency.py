"""A real hidden_map result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

EXAMPLES = {"a": ["The keys to the cabinet", "The key is here", "Alice gave"],
            "b": ["1, 1, 2, 3", "5, 8, 13 and", "2, 3"]}


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("options", [
    {"examples": EXAMPLES}, {"prompts": ["The key is", "The keys are"], "position": 1},
    {"prompt": "The keys to the cabinet", "skip_first_token": True}, {"prompt": "The"},
    {"examples": EXAMPLES, "method": "tsne", "layer": 1, "seed": 2},
])
def test_real_results_are_consistent(kind, options, request):
    data = checked("hidden_map", request.getfixturevalue(kind), **options)
    assert len(data["coords"]) == data["model_shape"]["layers"] + 1


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("hidden_map", gpt2, examples=EXAMPLES)
    refused("hidden_map", data, lambda d: d["layers"].pop(), "layers is not the 4 rows")
    refused("hidden_map", data, lambda d: d.update(layer=0), "the opening layer 0 is outside 1..3")
    refused("hidden_map", data, lambda d: d["points"].clear(), "0 points of 6 prompts")
    refused("hidden_map", data, lambda d: d["points"][1].update(prompt=6), "a point's prompt 6 is outside 0..5")
    refused("hidden_map", data, lambda d: d["points"][1].update(label=2), "a point's label 2 is outside 0..1")
    refused("hidden_map", data, lambda d: d["points"][1].update(label=None), "a point's label -1 is outside")
    refused("hidden_map", data, lambda d: d.update(labels=[]), "a point has a label, and the map has none")
    refused("hidden_map", data, lambda d: d["coords"].pop(), "coords has 3 rows for 4 layers")
    refused("hidden_map", data, lambda d: d["coords"][2].pop(), "coords row 2 has 5 entries for 6 points")
    refused("hidden_map", data, lambda d: d["coords"][2][0].append(1.0), "a point of the map has 3 coordinates")
    refused("hidden_map", data, lambda d: d["variance"][1].reverse(), "explained variance ratios are not sorted")
    refused("hidden_map", data, lambda d: d["variance"][1].__setitem__(0, 1.5), "ratio 1.5 is not a probability")
    refused("hidden_map", data, lambda d: d["variance"][1].__setitem__(slice(None), [0.7, 0.6]),
            "explain 1.2999999999999998 of the variance")
    refused("hidden_map", data, lambda d: d["separation"].pop(), "separation has 3 entries for 4 layers")
    refused("hidden_map", data, lambda d: d["map_separation"].__setitem__(0, 1.5), "silhouette score 1.5")
    refused("hidden_map", data, lambda d: d.update(tokens_of_one_prompt=True), "one prompt's tokens has 6 prompts")
