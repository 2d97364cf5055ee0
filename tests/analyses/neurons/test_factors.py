"""neurons: the NMF factors, checked against numpy on the activations a hook reads; each layer scaled to the same
RMS first, so that no layer's size decides the factors, and each factor described by what sets it apart."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

from lmreport.analyses.neurons import values as neurons_values
from lmreport.analyses.neurons.compute import factorize
from lmreport.analyses.neurons.view import factors_html
from lmreport.glue.types import NotApplicableHere, ReferenceProblem
from tests.analyses.neurons.test_neurons import PROMPT, activations_and_residual, compute


def nmf(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """W [pos, k] and H [k, layer·d_ff], fitted as the analysis fits them."""
    model = NMF(n_components=k, init="nndsvda", max_iter=500, random_state=0)
    return model.fit_transform(matrix), model.components_


def unscaled_peaks(acts: np.ndarray, k: int) -> list[int]:
    """The layer (from 1) where each factor's weights are largest, without scaling the layers: what the figure
    said before ("strongest in layer L")."""
    n_layers, n_pos, d_ff = acts.shape
    _, h = nmf(np.clip(acts, 0, None).transpose(1, 0, 2).reshape(n_pos, -1), k)
    return list(h.reshape(k, n_layers, d_ff).sum(-1).argmax(1) + 1)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_factors_are_numpys_nmf_of_the_scaled_activations(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute(loaded, factors=3)
    f = data["factors"]
    hooked = activations_and_residual(loaded, kind)[0].numpy()
    acts = np.clip(hooked, 0, None)
    n_layers, n_pos, d_ff = acts.shape
    scale = np.sqrt((acts ** 2).mean(axis=(1, 2)))
    assert np.allclose(f["layer_scale"], scale, rtol=1e-5)
    matrix = (acts / scale[:, None, None]).transpose(1, 0, 2).reshape(n_pos, -1)
    w, h = nmf(matrix, 3)
    mass = np.einsum("pf,fld->fl", w, h.reshape(3, n_layers, d_ff))  # each factor's rebuilt values, per layer
    order = np.argsort(-mass.sum(1))
    assert f["n"] == 3 and f["part"] == sorted(f["part"], reverse=True)
    assert np.allclose(f["token_weights"], (w / w.max(0)).T[order], atol=1e-4)
    assert np.allclose(f["layer_part"], (mass / mass.sum(0))[order], atol=1e-4)
    assert np.allclose(np.array(f["layer_part"]).sum(0), 1.0)
    assert np.allclose(f["part"], mass.sum(1)[order] / mass.sum(), atol=1e-4)
    assert f["relative_error"] == pytest.approx(np.linalg.norm(matrix - w @ h) / np.linalg.norm(matrix), rel=1e-3)
    assert f["clipped_negative"] is bool((hooked < 0).any())
    for n, factor in enumerate(order, start=1):
        parts = mass[factor] / mass.sum(0)
        assert neurons_values.neurons_factor_layer(data, n) == parts.argmax() + 1
        assert neurons_values.neurons_factor_part(data, n) == pytest.approx(parts.max(), abs=1e-4)
        assert neurons_values.neurons_factor_token(data, n) == data["tokens"][int(w[:, factor].argmax())]


def test_a_layer_a_thousand_times_larger_changes_no_factor(llama):
    acts = llama.forward(PROMPT).mlp_activations
    louder = acts.clone()
    louder[1] *= 1000
    before, after = factorize(acts, 3), factorize(louder, 3)
    for key in ("token_weights", "layer_part", "part"):
        assert np.allclose(before[key], after[key], atol=1e-6), key
    assert after["layer_scale"][1] == pytest.approx(1000 * before["layer_scale"][1], rel=1e-5)
    # Unscaled, that layer is where every factor weighs most: the summary would name it for all of them.
    assert unscaled_peaks(louder.double().numpy(), 3) == [2, 2, 2]


def test_each_factor_is_named_by_its_own_token_and_layer():
    """Two patterns, A on tokens 0 and 1 in layers 1 and 3, B on tokens 2 and 3 in layers 2 and 3; layer 3's
    values a hundred times larger, and negative values elsewhere (clipped)."""
    rng = np.random.default_rng(0)
    a, b = np.zeros((3, 6)), np.zeros((3, 6))
    a[[0, 2], :3] = rng.uniform(0.5, 1.5, (2, 3))
    b[[1, 2], 3:] = rng.uniform(0.5, 1.5, (2, 3))
    a[2] *= 100
    b[2] *= 100
    acts = np.stack([1.0 * a, 0.5 * a, 0.8 * b, 0.3 * b], axis=1)  # [layer, pos, d_ff]
    acts[0, :, 3:] = -5.0
    tokens = ["t0", "t1", "t2", "t3"]
    data = {"tokens": tokens, "factors": factorize(torch.tensor(acts), 2)}
    assert data["factors"]["relative_error"] < 1e-3 and data["factors"]["clipped_negative"]
    named = {neurons_values.neurons_factor_token(data, n): (neurons_values.neurons_factor_layer(data, n),
                                                           round(neurons_values.neurons_factor_part(data, n), 4))
             for n in (1, 2)}
    assert named == {"t0": (1, 1.0), "t2": (2, 1.0)}
    assert unscaled_peaks(acts, 2) == [3, 3]  # what the figure said before: the same layer for both
    page = factors_html(data["factors"], tokens)
    assert "strongest on <code>t0</code>" in page and "strongest on <code>t2</code>" in page
    assert ">100% of layer 1</small>" in page and ">100% of layer 2</small>" in page
    assert "each layer divided by its root-mean-square value" in page


def test_a_factor_that_is_zero_everywhere_names_nothing():
    data = {"tokens": ["a", "b"], "factors": {"n": 2, "token_weights": [[1.0, 0.2], [0.0, 0.0]],
                                              "layer_part": [[1.0, 1.0], [0.0, 0.0]]}}
    assert neurons_values.neurons_factor_token(data, 1) == "a"
    with pytest.raises(NotApplicableHere, match="factor 2 is 0 everywhere"):
        neurons_values.neurons_factor_layer(data, 2)
    with pytest.raises(ReferenceProblem, match="factor 3 is out of range: the block has factors 1 to 2"):
        neurons_values.neurons_factor_part(data, 3)


@pytest.mark.embedded
def test_on_smollm2_the_factors_stand_for_different_layers(smollm2):
    """The issue this answers: unscaled, every factor of the lesson's prompt weighs most in block 30."""
    data = compute(smollm2, factors=4)
    layers = [neurons_values.neurons_factor_layer(data, n) for n in range(1, 5)]
    assert len(set(layers)) >= 3, layers
    acts = smollm2.forward(PROMPT).mlp_activations.double().numpy()
    assert unscaled_peaks(acts, 4) == [30, 30, 30, 30]
