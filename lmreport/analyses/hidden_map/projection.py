"""Each layer's points in two dimensions, layer by layer (each layer its own projection), with the axes' signs
set so that the points move no more than they must from one layer to the next; and how well labelled points
separate. Plain numpy and scikit-learn on [layer, point, d] arrays: no model here.

The sign rule (PCA): an axis of PCA is a direction up to its sign, so each axis is oriented:
- at the first row (the embeddings), so that the entry of its direction (in the hidden space) of the largest
  size is positive (scikit-learn's svd_flip rule);
- at each later row, so that the points' coordinates on it agree with their coordinates on the same axis one
  row below (a non-negative dot product over the points), else flipped; an axis on which every point is 0 keeps
  the first rule.
t-SNE and UMAP keep their own orientation at the first row and follow the second rule above it."""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("pca", "tsne", "umap")


def pca(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """states [layer, point, d] -> coordinates [layer, point, 2] on each layer's first two principal axes (of
    the points centred on their mean, by SVD in float64) and the share of the layer's variance each axis
    explains [layer, 2] (0 where the points do not vary)."""
    states = np.asarray(states, dtype=np.float64)
    n_rows, n_points, _ = states.shape
    coords = np.zeros((n_rows, n_points, 2))
    ratios = np.zeros((n_rows, 2))
    for row in range(n_rows):
        centred = states[row] - states[row].mean(axis=0)
        u, s, vt = np.linalg.svd(centred, full_matrices=False)
        k = min(2, len(s))
        scores = u[:, :k] * s[:k]
        total = float((s**2).sum())
        if total > 0:
            ratios[row, :k] = s[:k] ** 2 / total
        below = coords[row - 1] if row > 0 else None
        for axis in range(k):
            coords[row, :, axis] = scores[:, axis] * _sign(scores[:, axis], vt[axis],
                                                           None if below is None else below[:, axis])
    return coords, ratios


def _sign(scores: np.ndarray, direction: np.ndarray | None, below: np.ndarray | None) -> float:
    """+1 or -1: agree with the row below where it says anything, else the largest entry of the direction
    positive (no direction: keep)."""
    if below is not None:
        agreement = float(scores @ below)
        if agreement != 0:
            return 1.0 if agreement > 0 else -1.0
    if direction is None:
        return 1.0
    return 1.0 if direction[int(np.argmax(np.abs(direction)))] >= 0 else -1.0


def follow_below(coords: np.ndarray) -> np.ndarray:
    """coords [layer, point, 2] with each axis above the first row flipped where it disagrees with the row
    below (t-SNE and UMAP: a reflected map is as good a map)."""
    out = np.array(coords, dtype=np.float64)
    for row in range(1, len(out)):
        for axis in range(2):
            out[row, :, axis] *= _sign(out[row, :, axis], None, out[row - 1, :, axis])
    return out


def perplexity(n_points: int) -> float:
    """t-SNE's perplexity for n points: scikit-learn's 30, or (n - 1) / 3 where that is smaller (it must stay
    below the number of points, and a third of them is the usual bound)."""
    return float(min(30.0, (n_points - 1) / 3))


def tsne(states: np.ndarray, seed: int) -> np.ndarray:
    """states [layer, point, d] -> coordinates [layer, point, 2] by t-SNE (scikit-learn; PCA start, so that a
    seed gives the same map every time), each layer on its own."""
    from sklearn.manifold import TSNE

    states = np.asarray(states, dtype=np.float64)
    rows = [TSNE(n_components=2, perplexity=perplexity(states.shape[1]), init="pca", random_state=seed)
            .fit_transform(layer) for layer in states]
    return follow_below(np.stack(rows))


def umap(states: np.ndarray, seed: int) -> np.ndarray:
    """states [layer, point, d] -> coordinates [layer, point, 2] by UMAP (the umap-learn package), each layer on
    its own."""
    import umap as umap_learn  # optional: inputs.py refuses method umap where it is not installed

    states = np.asarray(states, dtype=np.float64)
    neighbours = max(2, min(15, states.shape[1] - 1))
    rows = [np.asarray(umap_learn.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed)
                       .fit_transform(layer)) for layer in states]
    return follow_below(np.stack(rows))


def project(states: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Coordinates [layer, point, 2] by the method, and PCA's explained variance ratios [layer, 2] (None for the
    other methods, whose axes explain no share of variance)."""
    if method == "pca":
        return pca(states)
    if method == "tsne":
        return tsne(states, seed), None
    if method == "umap":
        return umap(states, seed), None
    raise ValueError(f"unknown method {method!r} (one of {', '.join(METHODS)})")


def separation(points: np.ndarray, labels: list[int | None]) -> list[float] | None:
    """Each layer's silhouette score (scikit-learn, Euclidean distance) of the labelled points: from -1 to 1,
    higher where points sit nearer their own label's points than the nearest other label's. None without two
    labels, or with as many labels as points (a silhouette needs 2 to n - 1 groups)."""
    from sklearn.metrics import silhouette_score

    groups = len(set(labels))
    if None in labels or not 2 <= groups <= len(labels) - 1:
        return None
    out: list[float] = []
    for layer in np.asarray(points, dtype=np.float64):
        score: Any = silhouette_score(layer, labels, metric="euclidean")
        out.append(float(np.nan_to_num(score)))  # points that all coincide score 0
    return out
