"""neurons: activations from a hook placed here, contributions by the explicit formula per norm type."""

import numpy as np
import pytest
import torch

from lmreport import analyses
from lmreport.analyses.neurons import values as neurons_values
from tests.analyses.helpers import run

PROMPT = "The capital of France is"
DOWN = {
    "gpt2": lambda m, i: m.transformer.h[i].mlp.c_proj,
    "llama": lambda m, i: m.model.layers[i].mlp.down_proj,
    "smollm2": lambda m, i: m.model.layers[i].mlp.down_proj,
}


def compute(loaded, **options):
    analysis = analyses.get("neurons")
    parsed = analysis.parse_options({"prompt": PROMPT, **options})
    return analysis.compute(loaded.forward(PROMPT), parsed, loaded)


def activations_and_residual(loaded, kind):
    n = loaded.config.num_hidden_layers
    acts, handles = {}, []

    def keeper(key):
        def keep(module, args):
            acts[key] = args[0][0].detach()  # returns None: the input is left as it is

        return keep

    for i in range(n):
        handles.append(DOWN[kind](loaded.model, i).register_forward_pre_hook(keeper(i)))
    norm = loaded.model.transformer.ln_f if kind == "gpt2" else loaded.model.model.norm
    handles.append(norm.register_forward_pre_hook(keeper("final")))
    try:
        out = run(loaded, PROMPT)
    finally:
        for h in handles:
            h.remove()
    return torch.stack([acts[i] for i in range(n)]).double(), acts["final"].double(), out.logits[0]


@pytest.mark.parametrize("kind", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_top_neurons_and_contributions(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute(loaded, top=3, contributors=4)
    acts, residual, logits = activations_and_residual(loaded, kind)
    values, indices = acts.topk(3, dim=-1)
    assert data["top_neurons"] == indices.tolist()
    assert np.allclose(data["top_values"], values.numpy(), atol=1e-5)
    contrib = data["contributions"]
    token = int(logits[-1].argmax())
    assert contrib["token_id"] == token and contrib["position"] == acts.shape[1] - 1
    w_u = loaded.model.lm_head.weight[token].double()
    r = residual[-1]
    if kind != "gpt2":
        norm = loaded.model.model.norm
        u = norm.weight.double() * w_u / torch.sqrt(r.pow(2).mean() + norm.variance_epsilon)
    else:
        norm = loaded.model.transformer.ln_f
        g = norm.weight.double() * w_u
        u = (g - g.mean()) / torch.sqrt(r.var(unbiased=False) + norm.eps)
    for n in contrib["neurons"]:
        block = n["layer"] - 1  # blocks count from 1, as on every page
        proj = DOWN[kind](loaded.model, block)
        w_out = proj.weight[n["neuron"], :] if kind == "gpt2" else proj.weight[:, n["neuron"]]
        expected = float(acts[block, -1, n["neuron"]] * (w_out.detach().double() @ u.detach()))
        assert n["contribution"] == pytest.approx(expected, rel=1e-4, abs=1e-7)
    ups = [n["contribution"] for n in contrib["neurons"][:4]]
    downs = [n["contribution"] for n in contrib["neurons"][4:]]
    assert ups == sorted(ups, reverse=True) and downs == sorted(downs)
    assert min(ups) >= max(downs)
    # The values prose cites: the extremes of every activation, the strongest raising neuron.

    assert neurons_values.neurons_lowest(data) == pytest.approx(float(acts.min()), abs=1e-5)
    assert neurons_values.neurons_highest(data) == pytest.approx(float(acts.max()), abs=1e-5)
    best = contrib["neurons"][0]
    if best["contribution"] > 0:
        assert neurons_values.neurons_contributor(data) == f"layer {best['layer']}, neuron {best['neuron']}"
        assert neurons_values.neurons_contribution(data) == best["contribution"]
        assert neurons_values.neurons_contributor_layer(data) == best["layer"]
    parts = np.array(data["factors"]["layer_part"])
    assert [neurons_values.neurons_factor_layer(data, f + 1) for f in range(len(parts))] == list(parts.argmax(1) + 1)


def test_direct_logit_direction_is_exact_for_a_scale_preserving_change(llama):
    """Adding v with the norm's scale held fixed changes the logit by exactly u·v: check with the real norm
    by adding v and a compensating change so the RMS stays put (v orthogonal to r, rescaled)."""
    from lmreport.analyses.neurons.compute import direct_logit_direction

    forward = llama.forward(PROMPT)
    token = int(forward.logits[-1].argmax())
    u = direct_logit_direction(forward, llama, -1, token)
    r = forward.hidden_states[-1, -1].double()
    v = torch.randn_like(r)
    v = v - (v @ r) / (r @ r) * r  # orthogonal to r
    r2 = r + 1e-3 * v
    r2 = r2 * (r.norm() / r2.norm())  # same RMS as r
    norm, head = llama.model.model.norm, llama.model.lm_head
    with torch.no_grad():
        delta = head(norm(r2.float()))[token] - head(norm(r.float()))[token]
    assert float(delta) == pytest.approx(float(u @ (r2 - r)), rel=2e-2, abs=1e-5)


def test_encoder_has_activations_but_no_contributions(bert):
    data = analyses.get("neurons").compute(bert.forward(PROMPT), analyses.get("neurons").parse_options(
        {"prompt": PROMPT}), bert)
    assert data["contributions"] is None and data["n_layers"] == 2
