"""A real neuron_view result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "Alice gave a book to Bob"


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("options", [{}, {"layers": [-1, 1], "layer": -1, "head": -1}])
def test_real_results_are_consistent(kind, options, request):
    checked("neuron_view", request.getfixturevalue(kind), prompt=PROMPT, **options)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("neuron_view", gpt2, prompt=PROMPT, layers=[1, 2], layer=2, head=1)
    n = len(data["tokens"])

    refused("neuron_view", data, lambda d: d.update(layers=[2, 1]), "the layers shown [2, 1] are not blocks in order")
    refused("neuron_view", data, lambda d: d.update(layers=[1, 1]), "are not blocks in order, each once")
    refused("neuron_view", data, lambda d: d.update(layers=[1, 9]), "a layer shown 9 is outside 1..3")
    refused("neuron_view", data, lambda d: d.update(layer=3), "the layer drawn first, 3, is not among those shown")
    refused("neuron_view", data, lambda d: d.update(head=4), "the head 4 is outside 0..3")
    refused("neuron_view", data, lambda d: d["attention"].pop(), "attention has 1 rows for 2 layers")
    refused("neuron_view", data, lambda d: d["keys"][1].pop(), "keys row 1 has 3 entries for 4 heads")
    refused("neuron_view", data, lambda d: d["queries"][0][1][2].pop(),
            "queries of layer 1, head 1 row 2 has 7 entries for 8 coordinates")
    refused("neuron_view", data, lambda d: d["keys"][1][0].pop(), f"keys of layer 2, head 0 has {n - 1} rows")
    refused("neuron_view", data, lambda d: d["attention"][0][0][1].append(0.0), f"has {n + 1} entries for {n} keys")
    refused("neuron_view", data, lambda d: d["attention"][0][0][0].__setitem__(0, 2.0), "an attention weight 2.0")
    refused("neuron_view", data, lambda d: d.update(scale=1.0), "the scale 1.0 is not 1/√8")
    refused("neuron_view", data, lambda d: d["input_ids"].append(0), f"{n + 1} input ids for {n} tokens")
    refused("neuron_view", data, lambda d: d["model_shape"].update(heads=2), "attention row 0 has 4 entries for 2")
    refused("neuron_view", data, lambda d: d["model_shape"].update(heads=10**9), "attention row 0 has 4 entries")
