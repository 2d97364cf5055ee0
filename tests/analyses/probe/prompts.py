"""Labelled prompts for the probe tests, and the probe computed independently: each prompt's own forward pass, and
cross-validation written out with numpy and scikit-learn's LogisticRegression."""

from __future__ import annotations

import numpy as np
import torch

from lmreport import analyses

FIRST = ["The", "A", "Then", "Alice", "Bob", "Rome", "Paris"]
LAST = ["key", "cabinet", "table", "book", "shop", "capital", "France", "Italy"]
PROMPTS = [f"{a} {b}" for a in FIRST for b in LAST]
# A class the last token cannot tell (each last word is in both): the probe must read the first word.
BY_FIRST = {"article": [p for p in PROMPTS if p.split()[0] in ("The", "A", "Then")],
            "name": [p for p in PROMPTS if p.split()[0] not in ("The", "A", "Then")]}


def probe(loaded, **options) -> dict:
    """The probe analysis run as the build runs it (its checks included)."""
    spec = analyses.get("probe")
    parsed = spec.parse_options(options)
    return spec.run(loaded.forward(spec.prompts(parsed)[0], spec.needs), parsed, loaded)


def unbatched_states(loaded, prompts: list[str], position: int) -> np.ndarray:
    """[prompt, layer + 1, d] float64: each prompt's own forward pass, read at its own position."""
    rows = []
    for prompt in prompts:
        hidden = loaded.run_ids(prompt, loaded.encode(prompt), {"hidden_states"}).hidden_states
        rows.append(hidden[:, position % hidden.shape[1]])
    return torch.stack(rows).double().numpy()


def hand_cross_validation(features: np.ndarray, classes: list[int], fold_of: list[int], folds: int,
                          c: float) -> list[float]:
    """Accuracy per fold: standardise with the training folds' mean and deviation, fit a logistic regression on
    them, count the test fold's prompts classed right."""
    from sklearn.linear_model import LogisticRegression

    y, fold = np.array(classes), np.array(fold_of)
    scores = []
    for k in range(folds):
        test, train = fold == k, fold != k
        if len(set(y[train].tolist())) == 1:
            predicted = np.full(int(test.sum()), y[train][0])
        else:
            mean, scale = features[train].mean(0), features[train].std(0)
            scale[scale == 0] = 1.0
            model = LogisticRegression(C=c, max_iter=2_000).fit((features[train] - mean) / scale, y[train])
            predicted = model.predict((features[test] - mean) / scale)
        scores.append(float(np.mean(predicted == y[test])))
    return scores
