"""hidden_map against numpy's SVD of the same hidden states, layer by layer (with the sign rule of projection.py
applied here on its own); t-SNE repeatable with a seed; the values, the table and UMAP's call."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from lmreport.analyses.hidden_map import values
from lmreport.analyses.hidden_map.view import table
from tests.analyses.helpers import compute

EXAMPLES = {
    "a": ["The keys to the cabinet", "The key is here", "Alice gave a book"],
    "b": ["1, 1, 2, 3", "5, 8, 13 and", "2, 3, 5"],
}
PROMPTS = [p for ps in EXAMPLES.values() for p in ps]


def states_of(loaded, prompts, position=-1):
    """[layer+1, prompt, d] in float64: the hidden states of each prompt's token at position."""
    return np.stack([loaded.forward(p).hidden_states[:, position, :].double().numpy() for p in prompts], axis=1)


def svd_map(states):
    """Each layer's coordinates on its first two principal axes by numpy's SVD of the centred points, oriented by
    the documented rule: the embeddings row's axes with their direction's largest entry positive, each later
    row's with a non-negative dot product with the row below."""
    coords, shares = [], []
    for row, layer in enumerate(states):
        u, s, vt = np.linalg.svd(layer - layer.mean(axis=0), full_matrices=False)
        xy = u[:, :2] * s[:2]
        for axis in range(2):
            dot = float(xy[:, axis] @ coords[-1][:, axis]) if row else 0.0
            flip = dot < 0 if dot != 0 else vt[axis][np.argmax(np.abs(vt[axis]))] < 0
            xy[:, axis] *= -1 if flip else 1
        coords.append(xy)
        shares.append(s[:2] ** 2 / (s**2).sum())
    return np.stack(coords), np.stack(shares)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_pca_coordinates_are_numpys_svd_at_every_layer(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute("hidden_map", loaded, examples=EXAMPLES)
    expected, shares = svd_map(states_of(loaded, PROMPTS))
    got = np.array(data["coords"])
    assert got.shape == (loaded.n_layers + 1, len(PROMPTS), 2)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(np.array(data["variance"]), shares, rtol=1e-6)
    assert data["labels"] == ["a", "b"] and [p["label"] for p in data["points"]] == [0, 0, 0, 1, 1, 1]
    assert [p["token"] for p in data["points"]] == [loaded.forward(p).tokens[-1] for p in PROMPTS]
    assert data["layer"] == loaded.n_layers  # the slider opens on the last row


def test_a_flipped_axis_would_be_seen(gpt2):
    """The comparison above is sign-exact: the same map with one layer's axis flipped differs."""
    data = compute("hidden_map", gpt2, prompts=PROMPTS)
    expected, _ = svd_map(states_of(gpt2, PROMPTS))
    flipped = np.array(data["coords"])
    flipped[2, :, 1] *= -1
    assert not np.allclose(flipped, expected, atol=1e-6 * np.abs(expected).max())
    # and the rule keeps neighbouring rows agreeing: every axis above the embeddings correlates with the one below
    coords = np.array(data["coords"])
    assert all(coords[r, :, a] @ coords[r - 1, :, a] >= 0 for r in range(1, len(coords)) for a in range(2))


def test_tokens_of_one_prompt_and_position(llama):
    prompt = "The keys to the cabinet are on the table"
    data = compute("hidden_map", llama, prompt=prompt, skip_first_token=True)
    forward = llama.forward(prompt)
    n = len(forward.tokens)
    assert [p["position"] for p in data["points"]] == list(range(1, n))
    expected, _ = svd_map(forward.hidden_states[:, 1:, :].double().numpy())
    np.testing.assert_allclose(np.array(data["coords"]), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    assert data["separation"] is None and data["labels"] == []
    second = compute("hidden_map", llama, prompts=PROMPTS[:2], position=1)
    assert [p["token"] for p in second["points"]] == [llama.forward(p).tokens[1] for p in PROMPTS[:2]]


def test_tsne_with_a_seed_gives_the_same_map_twice(gpt2):
    first = compute("hidden_map", gpt2, examples=EXAMPLES, method="tsne", seed=3)
    again = compute("hidden_map", gpt2, examples=EXAMPLES, method="tsne", seed=3)
    assert first["coords"] == again["coords"]
    assert first["variance"] is None and first["seed"] == 3
    pca = compute("hidden_map", gpt2, examples=EXAMPLES)
    assert not np.allclose(np.array(first["coords"]), np.array(pca["coords"]), rtol=0.1)  # t-SNE did move them


def test_separation_is_the_silhouette_in_the_hidden_space_and_in_the_map(gpt2):
    from sklearn.metrics import silhouette_score

    data = compute("hidden_map", gpt2, examples=EXAMPLES)
    states = states_of(gpt2, PROMPTS)
    labels = [0, 0, 0, 1, 1, 1]
    full = [silhouette_score(layer, labels) for layer in states]
    drawn = [silhouette_score(layer, labels) for layer in np.array(data["coords"])]
    assert data["separation"] == pytest.approx(full, abs=1e-9)
    assert data["map_separation"] == pytest.approx(drawn, abs=1e-9)
    assert values.map_separation(data, 1) == pytest.approx(full[1], abs=1e-9)
    assert values.map_drawn_separation(data) == pytest.approx(drawn[-1], abs=1e-9)
    assert values.map_best_layer(data) == int(np.argmax(full))
    assert values.map_best_separation(data) == pytest.approx(max(full), abs=1e-9)
    assert values.map_variance(data, 0) == pytest.approx(sum(data["variance"][0]))
    assert values.map_points(data) == 6


def test_values_without_labels_or_variance_say_why(gpt2):
    from lmreport.glue.types import NotApplicableHere, ReferenceProblem

    plain = compute("hidden_map", gpt2, prompts=PROMPTS)
    with pytest.raises(ReferenceProblem, match="no labels to separate"):
        values.map_best_layer(plain)
    with pytest.raises(NotApplicableHere, match="layer 9 is out of range"):
        values.map_variance(plain, 9)
    tsne = compute("hidden_map", gpt2, prompts=PROMPTS, method="tsne")
    with pytest.raises(ReferenceProblem, match="variance is for method pca"):
        values.map_variance(tsne)


def test_the_table_has_a_row_per_layer_and_point(gpt2):
    data = compute("hidden_map", gpt2, examples=EXAMPLES)
    rows = table(data)
    assert rows[0] == ["layer", "point", "label", "x", "y", "token", "prompt"]
    assert len(rows) == 1 + (gpt2.n_layers + 1) * len(PROMPTS)
    layer, point, label, x, y, token, prompt = rows[1 + 2 * len(PROMPTS) + 4]
    assert (layer, point, label, prompt) == (2, 4, "b", PROMPTS[4])
    assert [x, y] == data["coords"][2][4] and token == data["points"][4]["token"]


def test_umap_is_called_per_layer_with_the_seed(gpt2, monkeypatch):
    """umap-learn is not a dependency: a stand-in module records the calls (the map's orientation rule still
    applies above the first row)."""
    calls = []

    class UMAP:
        def __init__(self, **kw):
            calls.append(kw)

        def fit_transform(self, x):
            return np.asarray(x)[:, :2] * (-1) ** len(calls)

    # importlib.util.find_spec answers from sys.modules first: the options' check finds the stand-in
    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=UMAP, __spec__=object()))
    data = compute("hidden_map", gpt2, prompts=PROMPTS, method="umap", seed=7)
    assert len(calls) == gpt2.n_layers + 1 and all(c["random_state"] == 7 for c in calls)
    coords = np.array(data["coords"])
    assert all(coords[r, :, a] @ coords[r - 1, :, a] >= 0 for r in range(1, len(coords)) for a in range(2))
