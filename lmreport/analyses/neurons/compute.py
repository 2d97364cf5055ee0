"""MLP neurons: the most active ones per token and layer, the ones that most raise the output token,
and a non-negative factorization (NMF) of all activations shown as token highlighting."""

from __future__ import annotations

import math
from typing import Any

from lmreport.analyses.common import candidate_ids, resolve_position
from lmreport.errors import NotApplicable
from lmreport.models.architecture import decoder_layers, mlp_output, projection_weight
from lmreport.models.forward import ForwardPass, LoadedModel


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    acts = forward.mlp_activations  # [layer, pos, d_ff]
    if acts is None:
        raise NotApplicable(f"cannot find the MLP neurons of {model.architecture}")
    top = options["top"]
    values, indices = acts.topk(min(top, acts.shape[-1]), dim=-1)
    data: dict[str, Any] = {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "n_layers": acts.shape[0],
        "d_ff": acts.shape[-1],
        "top_neurons": indices.tolist(),  # [layer][pos][top]
        "top_values": values.tolist(),
        "lowest": float(acts.min()),  # over every layer, position and neuron
        "highest": float(acts.max()),
        "contributions": None,
        "factors": factorize(acts, options["factors"]),
        "neuron_value": neuron_value(model),
    }
    if model.is_causal:
        data["contributions"] = contributions(forward, options, model)
    return data


def neuron_value(model: LoadedModel) -> str:
    """What a neuron's value is for this model's MLP: what its output projection reads."""
    layers = decoder_layers(model.model)
    mlp = getattr(layers[0], "mlp", None) if layers else None
    act = str(getattr(model.config, "hidden_act", None) or getattr(model.config, "activation_function", None)
              or getattr(model.config, "hidden_activation", None) or "the nonlinearity")
    if mlp is not None and any(hasattr(mlp, name) for name in ("gate_proj", "gate_up_proj", "w1")):
        return (f"{act}(gate) × up, the input of the MLP's down-projection (a gated MLP: it can be large and "
                "negative)")
    return f"{act} of the MLP's first projection, the input of its output projection"


def direct_logit_direction(forward: ForwardPass, model: LoadedModel, position: int, token_id: int) -> Any:
    """u such that u · v is how much a residual-stream vector v, added before the final norm, raises the
    token's logit, holding the norm's scale fixed (RMSNorm: g ⊙ w / rms; LayerNorm: the same, centred)."""
    import torch

    norm = model.final_norm()
    w = model.model.get_output_embeddings().weight[token_id].detach().double().cpu()
    residual = forward.hidden_states[-1, position].double()
    eps = float(getattr(norm, "variance_epsilon", getattr(norm, "eps", 1e-5)))
    if isinstance(norm, torch.nn.LayerNorm):
        gain = norm.weight.detach().double().cpu() if norm.weight is not None else torch.ones_like(w)
        direction = w * gain
        direction = direction - direction.mean()
        scale = torch.sqrt(residual.var(unbiased=False) + eps)
    else:
        # An RMS norm's gain, asked of the norm itself: norm(1) = gain / sqrt(1 + eps). This holds for the
        # usual g · x / rms(x) and for Gemma's (1 + g) · x / rms(x) alike.
        ones = torch.ones(1, w.shape[0])
        gain = model.run_module(norm, ones)[0].double() * math.sqrt(1 + eps)
        direction = w * gain
        scale = torch.sqrt(residual.pow(2).mean() + eps)
    return direction / scale


def contributions(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    """Activation × (output weight · direct-logit direction) for every neuron at `position`."""
    import torch

    position = resolve_position(options["position"], len(forward.tokens))
    if options["token"] is None:
        token_id = int(forward.logits[position].argmax())
    else:
        token_id = candidate_ids(model, [options["token"]], "token")[0]
    u = direct_logit_direction(forward, model, position, token_id)
    per_layer = []
    with torch.no_grad():
        for layer in decoder_layers(model.model):
            per_layer.append(projection_weight(mlp_output(layer)).double() @ u)  # [d_ff]
    weights = torch.stack(per_layer)  # [layer, d_ff]
    contrib = forward.mlp_activations[:, position, :].double() * weights
    flat = contrib.flatten()
    n = min(options["contributors"], flat.numel())
    order = torch.cat([flat.topk(n).indices, (-flat).topk(n).indices])
    d_ff = contrib.shape[-1]
    return {
        "position": position,
        "token_id": token_id,
        "token": model.token_texts([token_id])[0],
        "neurons": [
            {"layer": int(i) // d_ff + 1, "neuron": int(i) % d_ff,  # blocks count from 1, as on every page
             "activation": float(forward.mlp_activations[int(i) // d_ff, position, int(i) % d_ff]),
             "weight": float(weights.flatten()[i]), "contribution": float(flat[i])}
            for i in order.tolist()
        ],
        "total_by_layer": contrib.sum(-1).tolist(),
    }


def factorize(acts: Any, n_factors: int) -> dict[str, Any]:
    """NMF of the [pos, layer·d_ff] activations, negative values clipped to 0 (as NMF needs) and each layer divided
    by its root-mean-square value first: unscaled, a few layers' large values make almost all of the squared error
    the fit minimises (SmolLM2-135M on "The capital of France is": 96% in blocks 12 and 29, at the first token), and
    every factor weighs most in the last block. Factors come largest first (their part of the whole reconstruction)."""
    import numpy as np
    from sklearn.decomposition import NMF

    n_layers, n_pos, d_ff = acts.shape
    clipped = acts.clamp(min=0).double().numpy()  # [layer, pos, d_ff]
    scale = np.sqrt((clipped ** 2).mean(axis=(1, 2)))
    matrix = (clipped / np.where(scale > 0, scale, 1.0)[:, None, None]).transpose(1, 0, 2).reshape(n_pos, -1)
    k = max(1, min(n_factors, n_pos))
    nmf = NMF(n_components=k, init="nndsvda", max_iter=500, random_state=0)
    token_weights = nmf.fit_transform(matrix)  # [pos, k]
    components = nmf.components_
    # Factor f rebuilds token_weights[:, f] ⊗ components[f]: summed over positions and neurons, its mass per layer.
    mass = token_weights.sum(0)[:, None] * components.reshape(k, n_layers, d_ff).sum(-1)  # [k, layer]
    order = np.argsort(-mass.sum(1), kind="stable")
    token_weights, components, mass = token_weights[:, order], components[order], mass[order]
    layer_total = mass.sum(0)
    residual = np.linalg.norm(matrix - token_weights @ components)
    peak = token_weights.max(0)
    return {
        "n": k,
        "token_weights": (token_weights / np.where(peak > 0, peak, 1.0)).T.tolist(),  # [factor][pos], max 1
        "layer_part": (mass / np.where(layer_total > 0, layer_total, 1.0)).tolist(),  # [factor][layer]
        "part": (mass.sum(1) / max(float(mass.sum()), 1e-300)).tolist(),  # [factor]
        "layer_scale": scale.tolist(),  # [layer]: the RMS each layer was divided by
        "relative_error": float(residual / max(float(np.linalg.norm(matrix)), 1e-300)),
        "clipped_negative": bool((acts < 0).any()),
    }
