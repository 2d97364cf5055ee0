"""BertViz neuron view: the query and key vectors behind one head's attention, and their products.

Queries and keys are recomputed from the residual stream of the single forward pass, per
architecture (GPT-2, BERT, Llama-style with rotary positions and grouped keys); the test checks that
softmax(q·k/√d) gives back the model's own attention.
"""

from __future__ import annotations

import math
from typing import Any

from lmreport.analyses.common import resolve_index, resolve_layer
from lmreport.errors import AnalysisError, NotApplicable
from lmreport.models.architecture import decoder_layers
from lmreport.models.forward import ForwardPass, LoadedModel

DECIMALS = 3


SUPPORTED = "GPT-2, BERT and Llama-style (Llama, Mistral, Qwen2, SmolLM) models"


def queries_keys(forward: ForwardPass, model: LoadedModel, layers: list[int]) -> tuple[Any, Any]:
    """[layer, head, pos, d_head] queries and keys, as the attention of those layers used them."""
    import torch

    blocks = decoder_layers(model.model)
    kind = model.config.model_type
    out_q, out_k = [], []
    with torch.no_grad():
        for index in layers:
            h = forward.hidden_states[index][None]  # the residual stream entering layer `index`
            weight = next(blocks[index].parameters())
            h = h.to(device=weight.device, dtype=weight.dtype)  # where and how precise the block runs
            if kind == "gpt2":
                q, k = _gpt2(blocks[index], h, model.config)
            elif kind in ("bert", "roberta", "distilbert") and hasattr(blocks[index], "attention"):
                q, k = _bert(blocks[index], h)
            elif _is_llama_like(model.model, blocks[index]):
                q, k = _llama(model.model, blocks[index], h)
            else:
                raise NotApplicable(f"the neuron view supports {SUPPORTED}; {model.architecture} is not one of them")
            out_q.append(q[0].float().cpu())
            out_k.append(k[0].float().cpu())
    return torch.stack(out_q), torch.stack(out_k)


def _is_llama_like(model: Any, block: Any) -> bool:
    """Pre-norm blocks with q_proj/k_proj and rotary positions shared at the model level."""
    attn = getattr(block, "self_attn", None)
    return (attn is not None and hasattr(attn, "q_proj") and hasattr(attn, "head_dim")
            and hasattr(block, "input_layernorm") and hasattr(model.base_model, "rotary_emb"))


def _split(x: Any, n_heads: int) -> Any:
    b, pos, d = x.shape
    return x.view(b, pos, n_heads, d // n_heads).transpose(1, 2)


def _gpt2(block: Any, h: Any, config: Any) -> tuple[Any, Any]:
    q, k, _ = block.attn.c_attn(block.ln_1(h)).split(config.n_embd, dim=2)
    return _split(q, config.n_head), _split(k, config.n_head)


def _bert(block: Any, h: Any) -> tuple[Any, Any]:
    attn = block.attention.self
    n = attn.num_attention_heads
    return _split(attn.query(h), n), _split(attn.key(h), n)


def _llama(model: Any, block: Any, h: Any) -> tuple[Any, Any]:
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    attn = block.self_attn
    x = block.input_layernorm(h)
    d_head = attn.head_dim
    q = attn.q_proj(x).view(1, x.shape[1], -1, d_head).transpose(1, 2)
    k = attn.k_proj(x).view(1, x.shape[1], -1, d_head).transpose(1, 2)
    for norm in ("q_norm", "k_norm"):  # Qwen3-style per-head norms
        if hasattr(attn, norm):
            q, k = (getattr(attn, norm)(q), k) if norm == "q_norm" else (q, getattr(attn, norm)(k))
    positions = torch.arange(x.shape[1], device=x.device)[None]
    cos, sin = model.base_model.rotary_emb(x, positions)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)
    return q, k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)


def check_against_attention(q: Any, k: Any, attentions: Any, model: LoadedModel) -> None:
    """Refuse to show queries and keys that do not give back the model's own attention (an architecture with
    partial rotary positions, soft-capped scores or another scale): a wrong picture is worse than none."""
    import torch

    scores = (q @ k.transpose(-1, -2)).double() / math.sqrt(q.shape[-1])
    if model.is_causal:
        n = scores.shape[-1]
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    error = float((torch.softmax(scores, -1) - attentions.double()).abs().max())
    # The model computed its attention in its own precision: bfloat16 keeps about 3 significant digits.
    tolerance = 1e-3 if model.runtime.dtype == "float32" else 2e-2
    if not error < tolerance:
        raise NotApplicable(f"the queries and keys lmreport computes for {model.architecture} do not give back its "
                            f"attention (they differ by up to {error:.2g}), so the neuron view is not drawn")


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    n_layers, n_heads = forward.attentions.shape[:2]
    name = model.source.name
    # [1, 2, -2, -1] names four layers of a deep model and fewer of a shallow one: each is kept once.
    named = [resolve_layer(i, n_layers, "layers", name) for i in options["layers"]]
    layers = sorted(set(named)) or list(range(n_layers))  # 0-based block indexes
    layer = resolve_layer(options["layer"], n_layers, "layer", name)
    if layer not in layers:
        raise AnalysisError(f"layer {options['layer']} is not among the layers shown "
                            f"{[i + 1 for i in layers]}", "layer")
    head = resolve_index(options["head"], n_heads, "head", "head", name)
    try:
        q, k = queries_keys(forward, model, layers)
    except (RuntimeError, ValueError, TypeError) as e:  # a variant of the layout (Phi's partial rotary...)
        raise NotApplicable(f"cannot recompute the queries and keys of {model.architecture} "
                            f"({type(e).__name__})") from None
    check_against_attention(q, k, forward.attentions[layers], model)
    scale = 10.0**DECIMALS
    attn = forward.attentions[layers]
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": [i + 1 for i in layers],  # blocks as the pages count them, from 1
        "layer": layer + 1,
        "head": head,
        "bidirectional": not model.is_causal,
        "scale": 1 / math.sqrt(q.shape[-1]),
        "attention": ((attn.double() * scale).round() / scale).tolist(),
        "queries": ((q.double() * scale).round() / scale).tolist(),
        "keys": ((k.double() * scale).round() / scale).tolist(),
    }
