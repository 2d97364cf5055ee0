"""Each attention head's direct contribution to one next token's logit (or to the difference of two).

A head writes into the residual stream through its slice of the attention output projection. Its direct
contribution at the last position is that vector read through the final norm and the unembedding, with the
norm's scale held at the value it had in the forward pass (the norm then acts linearly, so the contributions
of all heads, MLPs and embeddings add up to the logit). Biases of the projection and of the norm belong to no
head. The head's attention from the last token is kept, so the page can show where a strong head looked.
"""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import target_and_contrast
from lmreport.errors import NotApplicable
from lmreport.models import architecture
from lmreport.models.forward import ForwardPass, LoadedModel
from lmreport.models.readouts import frozen_norm


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("heads")
    last = forward.logits[-1].double()
    target, contrast = target_and_contrast(model, forward, options)
    layers = architecture.decoder_layers(model.model)
    projections = [architecture.attention_output(layer) for layer in layers]
    if any(p is None for p in projections):
        raise NotApplicable(f"cannot find the attention output projection of {model.architecture} (looked for "
                            f"{', '.join(architecture.ATTENTION_OUT_PATHS)})")
    norm = model.final_norm()
    x = forward.hidden_states[-1, -1]  # the residual stream at the last position, before the final norm
    apply, norm_bias = frozen_norm(norm, x)
    low = next(norm.parameters()).dtype in (torch.bfloat16, torch.float16)  # the module computes in that precision
    tolerance = 5e-2 if low else 1e-3
    if not torch.allclose(apply(x) + norm_bias, model.run_module(norm, x[None])[0].double(), rtol=tolerance,
                          atol=tolerance):
        raise NotApplicable(f"cannot hold {type(norm).__name__}'s scale fixed as a linear map")
    unembed = model.model.get_output_embeddings().weight.detach().double().cpu()
    direction = unembed[target] - (unembed[contrast] if contrast is not None else 0)
    with torch.no_grad(), architecture.capture_inputs(dict(enumerate(projections))) as captured:
        model.model(torch.tensor([forward.input_ids], device=model.device))
    model.forward_count += 1
    n_heads = int(forward.attentions.shape[1])
    table = []
    for i, projection in enumerate(projections):
        z = captured[i].reshape(-1, captured[i].shape[-1])[-1].double().cpu()  # [heads × d_head], last position
        weight = architecture.projection_weight(projection).detach().double().cpu()  # [heads × d_head, d_model]
        d_head = z.shape[0] // n_heads
        row = []
        for h in range(n_heads):
            part = slice(h * d_head, (h + 1) * d_head)
            row.append(float(apply(z[part] @ weight[part]) @ direction))
        table.append(row)
    flat = [(abs(v), layer, head) for layer, row in enumerate(table) for head, v in enumerate(row)]
    _, top_layer, top_head = max(flat)
    logit = float(last[target] - (last[contrast] if contrast is not None else 0))
    total = sum(sum(row) for row in table)
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "target": {"id": target, "token": model.token_texts([target])[0]},
        "contrast": None if contrast is None else {"id": contrast, "token": model.token_texts([contrast])[0]},
        "quantity": ("logit(target) − logit(contrast)" if contrast is not None else "logit(target)")
        + " at the last position, the final norm's scale held at its value in this forward pass",
        "layers": list(range(1, len(table) + 1)),  # the blocks the rows of "contributions" are, counted from 1
        "contributions": table,
        "logit": logit,
        "heads_total": total,
        "top": {"layer": top_layer + 1, "head": top_head, "value": table[top_layer][top_head]},
        "attention": [[[round(float(a), 5) for a in forward.attentions[layer, head, -1]] for head in range(n_heads)]
                      for layer in range(len(table))],
        "softcap": bool(getattr(model.config, "final_logit_softcapping", None)),
    }
