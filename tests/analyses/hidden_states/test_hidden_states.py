"""hidden_states against norms, cosines and a PCA computed here with numpy."""

import numpy as np
import pytest
import torch

from lmreport import analyses
from lmreport.analyses import citing
from lmreport.analyses.hidden_states import values as hidden_states_values
from tests.analyses.helpers import NORM, run

PROMPT = "The capital of France is Paris"


def compute(loaded, **options):
    analysis = analyses.get("hidden_states")
    parsed = analysis.parse_options({"prompt": PROMPT, **options})
    return analysis.compute(loaded.forward(PROMPT), parsed, loaded)


def residual_stream(loaded, kind):
    """Hidden states with the last row taken before the final norm (captured by a hook here)."""
    seen = {}
    norm = NORM[kind](loaded.model)
    def keep(module, args):
        seen["x"] = args[0][0].detach()  # returns None: the input is left as it is

    handle = norm.register_forward_pre_hook(keep)
    try:
        out = run(loaded, PROMPT, output_hidden_states=True)
    finally:
        handle.remove()
    rows = [h[0] for h in out.hidden_states[:-1]] + [seen["x"]]
    return torch.stack(rows).double().numpy(), out


@pytest.mark.parametrize("kind", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_norms_and_cosines(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute(loaded)
    h, out = residual_stream(loaded, kind)
    assert np.allclose(data["norms"], np.linalg.norm(h, axis=-1), rtol=1e-5)

    def cos(a, b):
        return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))

    assert np.allclose(data["cos_next"], cos(h[:-1], h[1:]), atol=1e-5)
    assert np.allclose(data["cos_last"], cos(h, h[-1:]), atol=1e-5)
    assert np.allclose(np.array(data["cos_last"])[-1], 1.0)
    # The last row is before the final norm: norm + unembedding gives the model's logits back.
    with torch.no_grad():
        logits = loaded.model.lm_head(NORM[kind](loaded.model)(torch.tensor(h[-1]).float()))
    assert torch.allclose(logits, out.logits[0], atol=1e-4)


@pytest.mark.parametrize("skip", [False, True])
def test_pca_matches_svd(llama, skip):
    data = compute(llama, skip_first_token=skip)
    h, _ = residual_stream(llama, "llama")
    first = 1 if skip else 0
    x = h[:, first:, :].reshape(-1, h.shape[-1])
    centred = x - x.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    ratio = (s**2) / (s**2).sum()
    got = data["pca"]["explained_variance_ratio"]
    assert got == pytest.approx(ratio[:2].tolist(), rel=1e-6)
    assert got[0] >= got[1]
    points = np.array(data["pca"]["points"]).reshape(-1, 2)
    expected = centred @ vt[:2].T
    # Components are defined up to sign.
    for c in range(2):
        assert np.allclose(np.abs(points[:, c]), np.abs(expected[:, c]), atol=1e-6)
    assert data["pca"]["first_position"] == first


def test_works_on_an_encoder(bert):
    analysis = analyses.get("hidden_states")
    data = analysis.compute(bert.forward(PROMPT), analysis.parse_options({"prompt": PROMPT}), bert)
    out = run(bert, PROMPT, output_hidden_states=True)
    expected = torch.stack([x[0] for x in out.hidden_states]).norm(dim=-1)
    assert np.allclose(data["norms"], expected.numpy(), rtol=1e-5)


def test_values_read_the_residual_stream_computed_here(gpt2):

    data = compute(gpt2)
    h, _ = residual_stream(gpt2, "gpt2")
    norms = np.linalg.norm(h, axis=-1)

    def cos(a, b):
        return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))

    assert hidden_states_values.hidden_norm(data) == pytest.approx(norms[-1, -1], rel=1e-5)
    assert hidden_states_values.hidden_norm(data, 0, 2) == pytest.approx(norms[0, 2], rel=1e-5)
    assert hidden_states_values.hidden_cos_last(data, 1, 0) == pytest.approx(cos(h[1, 0], h[-1, 0]), abs=1e-5)
    assert hidden_states_values.hidden_cos_next(data, 2, 3) == pytest.approx(cos(h[2, 3], h[3, 3]), abs=1e-5)
    assert hidden_states_values.hidden_min_cos_next(data) == pytest.approx(min(cos(h[i, -1], h[i + 1, -1])
                                                                 for i in range(len(h) - 1)), abs=1e-5)
    assert hidden_states_values.hidden_min_cos_next(data, 0, 1) == pytest.approx(min(cos(h[i, 0], h[i + 1, 0])
                                                                       for i in range(1, len(h) - 1)), abs=1e-5)
    assert hidden_states_values.hidden_first_ratio(data, 2) == pytest.approx(norms[2, 0] / norms[2, 1:].mean(),
                                                                             rel=1e-5)
    ratios = norms[:, 0] / norms[:, 1:].mean(1)
    assert hidden_states_values.hidden_max_first_ratio(data) == pytest.approx(ratios.max(), rel=1e-5)
    assert hidden_states_values.hidden_max_first_ratio_layer(data) == int(ratios.argmax())
    assert citing.prompt_tokens(data) == h.shape[1]
