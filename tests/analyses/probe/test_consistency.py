"""A real probe result passes its consistency check; crafted ones of the same shape whose parts disagree are
refused (see tests/analyses/consistency.py)."""

from __future__ import annotations

import pytest

from tests.analyses.consistency import checked, refused
from tests.analyses.probe.prompts import BY_FIRST


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("control_by", ["token", "prompt"])
def test_real_results_are_consistent(kind, control_by, request):
    data = checked("probe", request.getfixturevalue(kind), examples=BY_FIRST, folds=3, control_by=control_by)
    n_rows = data["model_shape"]["layers"] + 1
    assert len(data["accuracy"]) == len(data["control"]) == len(data["selectivity"]) == n_rows
    assert [len(row) for row in data["accuracy_folds"] + data["control_folds"]] == [3] * 2 * n_rows


def _set(key, index, value):
    def change(data):
        data[key][index] = value
    return change


def _prompt(index, key, value):
    def change(data):
        data["prompts"][index][key] = value
    return change


def test_crafted_results_that_disagree_are_refused(gpt2):
    data = checked("probe", gpt2, examples=BY_FIRST, folds=3)
    first = data["accuracy_folds"][0]
    twin = next(i for i, r in enumerate(data["prompts"][1:], 1)
                if r["token_id"] == data["prompts"][0]["token_id"])
    for change, named in [
        (_set("accuracy", 1, data["accuracy"][1] + 0.1), "accuracy"),  # no longer the mean of its folds
        (_set("selectivity", 2, data["selectivity"][2] + 0.01), "selectivity at layer 2"),
        (_set("accuracy_folds", 0, [first[0] + 1e-3, *first[1:]]), "whole number of its"),
        (_set("control_folds", 0, [1.5] * 3), "not a probability"),
        (_set("layers", 0, "embedding"), "layers is not"),
        (_set("labels", 1, data["labels"][0]), "not two or more different classes"),
        (_prompt(0, "label", 2), "a prompt's label 2 is outside 0..1"),
        (_prompt(0, "fold", 3), "a prompt's fold 3 is outside 0..2"),
        (_prompt(0, "position", 99), "the position 99 is outside"),
        (_prompt(twin, "control", 1 - data["prompts"][0]["control"]), "classes in the control task, not one"),
        (lambda d: d.update(baseline=0.9), "baseline 0.9"),
        (lambda d: d.update(folds=1), "1 folds for"),
        (lambda d: d.update(control_by="word"), "control_by 'word'"),
        (lambda d: [r.update(fold=0) for r in d["prompts"] if r["fold"] == 2], "1 of the 3 folds test no prompt"),
        (lambda d: d["accuracy_folds"].pop(), "accuracy_folds has"),
    ]:
        refused("probe", data, change, named)
