"""Logit lens: each layer's residual stream, read through the final norm and the unembedding."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import layer_names
from lmreport.analyses.logit_lens import screen
from lmreport.models.forward import LENS_CHUNK_BYTES, ForwardPass, LoadedModel
from lmreport.models.readouts import norm_parts


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    top_ids, top_probs = [], []
    for logits in model.lens(forward):  # [pos, vocab], one layer at a time
        top = torch.topk(logits, min(options["top"], logits.shape[-1]), dim=-1)
        top_ids.append(top.indices.tolist())
        top_probs.append(_top_probabilities(logits, top).tolist())
    changed = _gain_changes(forward, model, [[pos[0] for pos in layer] for layer in top_ids])
    unique = sorted({i for layer in top_ids for pos in layer for i in pos})
    text = dict(zip(unique, model.token_texts(unique), strict=True))
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(len(top_ids)),
        "top_ids": top_ids,
        "top_tokens": [[[text[i] for i in pos] for pos in layer] for layer in top_ids],
        "top_probs": top_probs,
        # Cells [row, position] whose top token differs when the final norm's learned gain (and bias) is left
        # out, the vector only normalised; None when the norm is of neither known form.
        "gain_changed": changed,
    }


def _top_probabilities(logits: Any, top: Any) -> Any:
    """probabilities(logits, top.indices), bit for bit, in fewer passes over the vocabulary: torch.logsumexp's own
    steps (the maximum, exp(x − maximum) summed in float64, its log plus the maximum), the maximum read from the top
    tokens rather than found again, and the logits widened to float64 as they are subtracted, not copied first."""
    import torch

    maxes = top.values[..., :1].double()
    maxes = maxes.masked_fill(maxes.abs() == float("inf"), 0)
    total = torch.sub(logits, maxes).exp_().sum(-1, keepdim=True)  # float32 − float64 [pos, 1]: float64
    return (top.values.double() - total.log_().add_(maxes)).exp()


def _gain_changes(forward: ForwardPass, model: LoadedModel, tops: list[list[int]]) -> list[list[int]] | None:
    """The cells whose top token changes without the final norm's learned weights. The normalisation alone
    (÷ RMS, or centring and ÷ std for a LayerNorm) multiplies every logit of a cell by one positive number, so
    it never changes the top token; the gain, one weight per coordinate, can."""
    import torch

    norm = model.final_norm()
    if getattr(norm, "weight", None) is None:
        return None
    centres, eps, gain, bias = norm_parts(norm)
    hidden = forward.hidden_states.double()  # rows as the lens: embeddings ... after the last block (pre-norm)
    if centres:
        plain = (hidden - hidden.mean(-1, keepdim=True)) / torch.sqrt(hidden.var(-1, unbiased=False, keepdim=True)
                                                                       + eps)
    else:
        plain = hidden / torch.sqrt((hidden**2).mean(-1, keepdim=True) + eps)
    expected = plain[-1] * gain + bias
    real = model.run_module(norm, forward.hidden_states[-1]).double().cpu()
    if not torch.allclose(expected, real, rtol=2e-2, atol=2e-2):
        return None  # a norm of another form: nothing to compare
    unembed = model.model.get_output_embeddings()
    n_rows, n_pos, d = plain.shape
    flat = plain.float().reshape(-1, d)
    # Only whether each cell's top token changes is needed: a few witness tokens settle most cells, and a bfloat16
    # screen finds the rest's top tokens exactly at a quarter of the cost, where the CPU has bfloat16 arithmetic
    # (screen.py); else every logit, all rows and positions in a few matrix products (the unembedding read once per
    # chunk, not once per layer: a product per layer is limited by reading the 49,152 × 576 matrix, not arithmetic).
    per_chunk = max(1, LENS_CHUNK_BYTES // (model.vocab_size * 4))
    lens_tops = torch.tensor(tops).reshape(-1)
    changed = screen.differs(model, unembed, flat, per_chunk, lens_tops) if screen.usable(unembed) else None
    if changed is None:
        changed = torch.cat([model.unembed(unembed, flat[start:start + per_chunk]).argmax(-1)
                             for start in range(0, len(flat), per_chunk)]) != lens_tops
    cells = changed.view(n_rows, n_pos).tolist()
    return [[row, position] for row in range(n_rows) for position in range(n_pos) if cells[row][position]]
