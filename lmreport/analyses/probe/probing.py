"""Linear probes scored by cross-validation, and the control task they are set against (Hewitt & Liang, 2019,
"Designing and Interpreting Probes with Control Tasks"): plain numpy and scikit-learn, no model."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAX_ITER = 2_000  # lbfgs steps per fit; standardised features converge in far fewer (see `converged`)


def stratified_folds(classes: Sequence[int], folds: int, seed: int) -> list[int]:
    """Each example's fold (0 to folds - 1): shuffled with the seed, every class spread over the folds as evenly
    as its count allows (scikit-learn's StratifiedKFold)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(classes)
    fold_of = np.empty(len(y), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        fold_of[test] = k
    return fold_of.tolist()


def control_labels(types: Sequence[Hashable], classes: Sequence[int], seed: int) -> list[int]:
    """The control task: one random label per type (the token an example is read at), so that a probe can only
    score on it by remembering types. Types are taken in random order, the most frequent first, and each is given
    the class furthest below its count in the real task (ties broken at random): the control task's classes
    have the real task's counts, as closely as whole types allow (exactly when every type occurs once)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = Counter(types)
    distinct = list(counts)
    shuffled = [distinct[i] for i in rng.permutation(len(distinct))]
    ordered = sorted(shuffled, key=lambda t: -counts[t])  # stable: equal counts keep their random order
    target = Counter(classes)
    have: Counter[int] = Counter()
    chosen: dict[Hashable, int] = {}
    for t in ordered:
        deficits = {c: target[c] - have[c] for c in sorted(target)}
        most = max(deficits.values())
        tied = [c for c, d in deficits.items() if d == most]
        chosen[t] = tied[int(rng.integers(len(tied)))]
        have[chosen[t]] += counts[t]
    return [chosen[t] for t in types]


def fold_accuracies(features: np.ndarray, classes: Sequence[int], fold_of: Sequence[int], folds: int,
                    c: float) -> tuple[list[float], bool]:
    """The accuracy on each fold of a probe fitted on the others (features standardised on the training folds
    alone, then L2-regularised logistic regression with inverse strength c), and whether every fit converged."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    y, fold = np.asarray(classes), np.asarray(fold_of)
    scores, converged = [], True
    # One BLAS thread: matrices of a few dozen rows gain nothing from more, and on a busy machine threads that
    # wait for each other made the same fits 10 to 30 times slower. One thread also gives the same bits everywhere.
    with threadpool_limits(limits=1, user_api="blas"):
        for k in range(folds):
            test = fold == k
            predicted, ok = _fit_predict(features[~test], y[~test], features[test], c)
            scores.append(float(np.mean(predicted == y[test])))
            converged = converged and ok
    return scores, converged


def _fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, c: float) -> tuple[np.ndarray, bool]:
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_train)) < 2:
        # A control task's rare class may sit wholly in one test fold: the best a probe can learn from the
        # others is their one class (logistic regression refuses to fit a single class).
        return np.full(len(x_test), y_train[0]), True
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=MAX_ITER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported once, as a note of the result
        probe.fit(x_train, y_train)
    return probe.predict(x_test), bool(np.all(probe[-1].n_iter_ < MAX_ITER))
