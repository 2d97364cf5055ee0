"""A real patching result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused

PROMPT = "The keys to the cabinet"


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("site", ["residual", "heads"])
@pytest.mark.parametrize("metric", ["logit_diff", "prob"])
def test_real_results_are_consistent(kind, site, metric, request):
    checked("patching", request.getfixturevalue(kind), prompt=PROMPT, replace=["cabinet", "table"], site=site,
            metric=metric)


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("patching", gpt2, prompt=PROMPT, replace=["cabinet", "table"])
    best = data["best"]
    weakest = min((v, row, column) for row, values in enumerate(data["recovery"]) for column, v in enumerate(values))

    refused("patching", data, lambda d: d["recovery"][1].pop(), "recovery row 1 has 7 entries for 8 positions")
    refused("patching", data, lambda d: d["patched"].pop(), "patched has 3 rows for 4 layers")
    refused("patching", data, lambda d: d.update(layers=[1, 2, 3, 4]), "layers is not the rows 0 to 3 of site residual")
    refused("patching", data, lambda d: d.update(site="heads"), "site 'heads' with columns 'position'")
    refused("patching", data, lambda d: d.update(site="attn"), "layers is not the rows 1 to 3 of site attn")
    refused("patching", data, lambda d: d["corrupted_ids"].pop(), "the corrupted prompt has 8 tokens and 7 ids")
    refused("patching", data, lambda d: d.update(changed=[5]), "changed [5] is not where the prompts' ids differ")
    refused("patching", data, lambda d: d.update(corrupted_ids=d["input_ids"], changed=[]),
            "changed [] is not where the prompts' ids differ ([])")
    refused("patching", data, lambda d: d["recovery"][2].__setitem__(6, d["recovery"][2][6] + 0.5),
            "the recovery of row 2, column 6")
    refused("patching", data, lambda d: d.update(corrupted_metric=d["clean_metric"]), "leave nothing to recover")
    refused("patching", data, lambda d: d["best"].update(layer=9), "the best cell's layer 9 is outside 0..3")
    refused("patching", data, lambda d: d["best"].update(column=8), "the best cell's position 8 is outside 0..7")
    refused("patching", data, lambda d: d.update(best={"layer": weakest[1], "column": weakest[2],
                                                       "recovery": weakest[0]}), "not the largest")
    refused("patching", data, lambda d: d["best"].update(recovery=best["recovery"] + 1), "is not its cell's")
    refused("patching", data, lambda d: d.update(wrong=None), "metric 'logit_diff' names no wrong token")
    refused("patching", data, lambda d: d["wrong"].update(id=d["answer"]["id"]), "the wrong token is the answer")
    refused("patching", data, lambda d: d["answer"].update(id=10**6), "the answer's id 1000000 is outside")
    refused("patching", data, lambda d: d["model_shape"].update(layers=5), "layers is not the rows 0 to 5")
    refused("patching", data, lambda d: d["model_shape"].update(layers=0), "the model has 0 layers")


def test_crafted_probabilities_and_heads_that_disagree_are_refused(gpt2):
    data = checked("patching", gpt2, prompt=PROMPT, replace=["cabinet", "table"], metric="prob", site="heads")
    refused("patching", data, lambda d: d.update(wrong={"id": 1, "token": "x"}), "metric 'prob' names a wrong token")
    refused("patching", data, lambda d: d["model_shape"].update(heads=5), "patched row 0 has 4 entries for 5 heads")
    refused("patching", data, lambda d: d["model_shape"].update(heads=0), "the model has 0 heads")
    # a probability above 1, its recovery made to agree: only the range of a probability is wrong
    gap = data["clean_metric"] - data["corrupted_metric"]

    def above_one(d):
        d["patched"][0][0] = 1.5
        d["recovery"][0][0] = (1.5 - d["corrupted_metric"]) / gap

    refused("patching", data, above_one, "a metric 1.5 is not a probability")
