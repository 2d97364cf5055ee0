"""A real heads result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet are on the"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("contrast", [None, " is"])
def test_real_results_are_consistent(kind, contrast, request):
    checked("heads", request.getfixturevalue(kind), prompt=PROMPT, target=" the", contrast=contrast)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("heads", gpt2, prompt=PROMPT, target=" the", contrast=" is")
    top = data["top"]
    cells = [(abs(v), layer, head) for layer, row in enumerate(data["contributions"], 1) for head, v in enumerate(row)]
    _, weak_layer, weak_head = min(cells)

    refused("heads", data, lambda d: d["contributions"][0].pop(), "contributions row 0 has 3 entries for 4 heads")
    refused("heads", data, lambda d: d["contributions"].pop(), "contributions has 2 rows for 3 layers")
    refused("heads", data, lambda d: d.update(layers=[0, 1, 2]), "layers is not the blocks 1 to 3")
    refused("heads", data, lambda d: d["attention"][1][2].pop(), "attention of layer 2 row 2 has")
    refused("heads", data, lambda d: d["attention"][0].pop(), "attention row 0 has 3 entries for 4 heads")
    refused("heads", data, lambda d: d["attention"][0][0].__setitem__(0, 1.5), "an attention weight 1.5")
    refused("heads", data, lambda d: d["top"].update(layer=99), "the top head's layer 99 is outside 1..3")
    refused("heads", data, lambda d: d["top"].update(head=-1), "the top head -1 is outside 0..3")
    refused("heads", data, lambda d: d["top"].update(head=(top["head"] + 1) % 4), "is not its cell's")
    refused("heads", data, lambda d: d.update(top={"layer": weak_layer, "head": weak_head, "value": d[
        "contributions"][weak_layer - 1][weak_head]}), "not the largest")
    refused("heads", data, lambda d: d.update(heads_total=d["heads_total"] + 1.0), "heads_total")
    refused("heads", data, lambda d: d["contrast"].update(id=d["target"]["id"]), "the contrast is the target")
    refused("heads", data, lambda d: d["target"].update(id=10**6), "the target's id 1000000 is outside")
    refused("heads", data, lambda d: d["model_shape"].update(heads=8), "contributions row 0 has 4 entries for 8 heads")
    refused("heads", data, lambda d: d["model_shape"].update(layers=0), "the model has 0 layers")
    refused("heads", data, lambda d: d["model_shape"].update(layers=10**9), "layers is not the blocks 1 to")
