"""The probe against cross-validation written out by hand on each prompt's own forward pass; labels that one
hidden coordinate decides are read perfectly; the control task is a function of word types with the task's class
balance, and a seed gives the same numbers twice."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from lmreport.analyses.probe import values
from lmreport.analyses.probe.probing import control_labels
from lmreport.glue.types import NotApplicableHere
from tests.analyses.probe.prompts import BY_FIRST, PROMPTS, hand_cross_validation, probe, unbatched_states


@pytest.mark.parametrize("kind, position", [("gpt2", -1), ("llama", -1), ("llama", 0)])
def test_accuracy_is_a_hand_written_cross_validation_on_the_same_folds(kind, position, request):
    loaded = request.getfixturevalue(kind)
    data = probe(loaded, examples=BY_FIRST, folds=4, C=0.5, seed=3, position=position)
    rows = data["prompts"]
    assert [r["prompt"] for r in rows] == BY_FIRST["article"] + BY_FIRST["name"]
    classes = [r["label"] for r in rows]
    assert classes == [0] * len(BY_FIRST["article"]) + [1] * len(BY_FIRST["name"])
    fold_of = [r["fold"] for r in rows]
    # stratified: every fold tests each class, as evenly as the class's count allows
    for label in (0, 1):
        per_fold = Counter(f for f, c in zip(fold_of, classes, strict=True) if c == label)
        assert sorted(per_fold) == [0, 1, 2, 3] and max(per_fold.values()) - min(per_fold.values()) <= 1
    features = unbatched_states(loaded, [r["prompt"] for r in rows], position)
    control = [r["control"] for r in rows]
    for layer in range(features.shape[1]):
        expected = hand_cross_validation(features[:, layer], classes, fold_of, 4, 0.5)
        assert data["accuracy_folds"][layer] == expected, layer
        assert data["accuracy"][layer] == pytest.approx(sum(expected) / 4, abs=1e-15)
        expected_control = hand_cross_validation(features[:, layer], control, fold_of, 4, 0.5)
        assert data["control_folds"][layer] == expected_control, layer
        assert data["selectivity"][layer] == pytest.approx(data["accuracy"][layer] - data["control"][layer])
    assert data["baseline"] == max(len(v) for v in BY_FIRST.values()) / len(PROMPTS)
    last = [r["n_tokens"] - 1 if position == -1 else position for r in rows]
    assert [r["position"] for r in rows] == last  # -1 is each prompt's own last token
    assert [r["token"] for r in rows] == [loaded.token_texts(loaded.encode(r["prompt"]))[p]
                                          for r, p in zip(rows, last, strict=True)]


def _split_by_one_coordinate(features: np.ndarray, size: int) -> tuple[list[int], list[int], int]:
    """The prompts with the `size` lowest and highest values of the coordinate that parts them most widely."""
    order = np.argsort(features, axis=0)
    gaps = [(features[order[-size:, j], j].min() - features[order[:size, j], j].max()) / features[:, j].std()
            for j in range(features.shape[1])]
    j = int(np.argmax(gaps))
    assert gaps[j] > 0
    return order[:size, j].tolist(), order[-size:, j].tolist(), j


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_labels_that_one_hidden_coordinate_decides_are_read_perfectly(kind, request):
    loaded = request.getfixturevalue(kind)
    states = unbatched_states(loaded, PROMPTS, -1)
    layer = 2  # a middle row: the residual stream after block 2
    low, high, _ = _split_by_one_coordinate(states[:, layer], 20)
    data = probe(loaded, examples={"low": [PROMPTS[i] for i in low], "high": [PROMPTS[i] for i in high]})
    assert data["accuracy"][layer] == 1.0
    assert data["accuracy_folds"][layer] == [1.0] * 5
    # the same prompts labelled at random are not read perfectly: the test can fail
    mixed = [PROMPTS[i] for i in low + high]
    random.Random(0).shuffle(mixed)
    shuffled = probe(loaded, examples={"low": mixed[:20], "high": mixed[20:]})
    assert shuffled["accuracy"][layer] < 0.8


def test_control_labels_depend_on_the_type_alone_and_keep_the_class_counts():
    classes = [0] * 30 + [1] * 10 + [2] * 20
    unique = control_labels(list(range(60)), classes, seed=5)
    assert Counter(unique) == Counter(classes)  # every type once: exactly the task's counts
    assert unique == control_labels(list(range(60)), classes, seed=5)
    assert unique != control_labels(list(range(60)), classes, seed=6)
    types = [f"w{i % 17}" for i in range(60)]  # 17 types, 3 or 4 prompts each
    labels = control_labels(types, classes, seed=1)
    by_type = {}
    for t, label in zip(types, labels, strict=True):
        assert by_type.setdefault(t, label) == label  # one label per type
    counts = Counter(labels)
    assert all(abs(counts[c] - n) <= 4 for c, n in Counter(classes).items())  # within one type's prompts


def test_the_control_task_of_a_result_and_its_seed(gpt2):
    first = probe(gpt2, examples=BY_FIRST, folds=3, seed=7)
    assert probe(gpt2, examples=BY_FIRST, folds=3, seed=7) == first  # same seed, same numbers
    by_token: dict[int, set[int]] = {}
    for row in first["prompts"]:
        by_token.setdefault(row["token_id"], set()).add(row["control"])
    assert len(by_token) == len(set(p.split()[1] for p in PROMPTS)) and all(len(s) == 1 for s in by_token.values())
    control, real = (Counter(r[key] for r in first["prompts"]) for key in ("control", "label"))
    assert all(abs(control[c] - real[c]) <= 7 for c in real)  # 8 last words of 7 prompts each: within one word's
    other = probe(gpt2, examples=BY_FIRST, folds=3, seed=8)
    assert [r["control"] for r in other["prompts"]] != [r["control"] for r in first["prompts"]]
    per_prompt = probe(gpt2, examples=BY_FIRST, folds=3, seed=7, control_by="prompt")
    shuffled = [r["control"] for r in per_prompt["prompts"]]
    assert sorted(shuffled) == sorted(r["label"] for r in first["prompts"]) and shuffled != \
        [r["label"] for r in first["prompts"]]


def test_values_read_the_result(gpt2):
    data = probe(gpt2, examples=BY_FIRST, folds=3)
    acc, sel = data["accuracy"], data["selectivity"]
    assert values.probe_accuracy(data, 0) == acc[0] and values.probe_accuracy(data) == acc[-1]
    assert values.probe_control(data, 1) == data["control"][1]
    assert values.probe_selectivity(data, -1) == sel[-1]
    assert values.probe_best_layer(data) == sel.index(max(sel))
    assert values.probe_best_selectivity(data) == max(sel)
    assert values.probe_best_accuracy(data) == max(acc)
    assert values.probe_most_accurate_layer(data) == acc.index(max(acc))
    assert values.probe_baseline(data) == data["baseline"]
    assert values.probe_n_prompts(data) == len(PROMPTS) and values.probe_folds(data) == 3
    threshold = sorted(acc)[len(acc) // 2] - 1e-9
    assert values.probe_first_layer_above(data, threshold) == next(i for i, a in enumerate(acc) if a > threshold)
    with pytest.raises(NotApplicableHere, match="no layer's accuracy is above 1"):
        values.probe_first_layer_above(data, 1.0)
    with pytest.raises(NotApplicableHere, match="layer 9 is out of range"):
        values.probe_accuracy(data, 9)


def test_the_first_of_equal_layers_is_the_best():
    data = {"selectivity": [0.1, 0.3, 0.3, 0.2], "accuracy": [0.5, 1.0, 0.9, 1.0]}
    assert values.probe_best_layer(data) == 1 and values.probe_most_accurate_layer(data) == 1


def test_fits_that_stop_before_converging_are_noted(gpt2, monkeypatch):
    from lmreport.analyses.probe import probing

    assert probe(gpt2, examples=BY_FIRST, folds=3)["notes"] == []
    monkeypatch.setattr(probing, "MAX_ITER", 1)
    (note,) = probe(gpt2, examples=BY_FIRST, folds=3)["notes"]
    assert note.startswith("the probe's fit did not converge at layers 0, 1, 2, 3:")
