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
    last = forward.logits[-1]
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
    unembed = model.model.get_output_embeddings().weight  # only the target's (and the contrast's) rows are read
    direction = unembed[target].detach().double().cpu() - (
        unembed[contrast].detach().double().cpu() if contrast is not None else 0)
    z = _last_head_outputs(forward, model, projections)  # [layer, heads × d_head], float64
    n_heads = int(forward.attentions.shape[1])
    d_head = z.shape[1] // n_heads
    table = []
    for i, projection in enumerate(projections):
        weight = architecture.projection_weight(projection).detach().double().cpu()  # [heads × d_head, d_model]
        # One head at a time, in the order of operations of the numbers this analysis has always given (a
        # product for all heads at once would round otherwise, in the last bits).
        table.append([float(apply(z[i, h * d_head:(h + 1) * d_head] @ weight[h * d_head:(h + 1) * d_head])
                            @ direction) for h in range(n_heads)])
    flat = [(abs(v), layer, head) for layer, row in enumerate(table) for head, v in enumerate(row)]
    _, top_layer, top_head = max(flat)
    logit = float(last[target].double() - (last[contrast].double() if contrast is not None else 0))
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
        "attention": [[[round(a, 5) for a in head] for head in layer]
                      for layer in forward.attentions[: len(table), :, -1].tolist()],
        "softcap": bool(getattr(model.config, "final_logit_softcapping", None)),
    }


def _last_head_outputs(forward: ForwardPass, model: LoadedModel, projections: list[Any]) -> Any:
    """Each layer's heads' outputs at the last position, [layer, heads × d_head] in float64: from the forward pass
    when it kept them ("heads" in the analysis's needs), else from a pass of our own hooked on the projections."""
    import torch

    if forward.head_outputs is not None:
        return forward.head_outputs[:, -1].double()
    with torch.no_grad(), architecture.capture_inputs(dict(enumerate(projections))) as captured:
        model.model(torch.tensor([forward.input_ids], device=model.device))
    model.forward_count += 1
    return torch.stack([captured[i].reshape(-1, captured[i].shape[-1])[-1].double().cpu()
                        for i in range(len(projections))])
