"""Occlusion on a causal model in one pass: each variant's positions before the replaced token are not run again.

Occlusion replaces one token at a time by the neutral one and runs the model on each variant. In a causal model
the positions before the replaced one see nothing of it: variant i is the prompt at positions 0..i-1, and only
its positions i..n-1 need computing. So the variants are packed into one sequence, each row given its position
(position_ids) and what it may attend to (a 4D additive mask): the prompt's own n rows once, then for each variant
its rows from i on, attending to the prompt's rows before i and to its own rows up to itself; the logits are read
at each variant's last row only. That is n + n(n+1)/2 rows instead of n * n (Captum's FeatureAblation, batched,
besides its pass over the prompt), in one pass on a CPU that reads the weights once. The numbers are the same as
running each variant alone, up to float rounding (a test compares both on every family packed).

The prompt's rows come last: a model that ignored the mask would have its last row attend to the variants. Its
value is checked against f(prompt) from the build's forward pass; on a mismatch the caller runs the variants the
plain way (and logs it). Only families whose attention is known to add a 4D mask and to read position_ids are
packed (PACKED), with eager or SDPA attention, and no sliding window shorter than the prompt.
"""

from __future__ import annotations

import inspect
from typing import Any

PACKED = frozenset({"llama", "mistral", "qwen2", "qwen3", "gpt2"})  # the tests run each, packed against plain


ROWS = 512  # rows of one packed pass (at least the prompt and one variant): the mask is rows², per head and layer


def packable(model: Any, n: int) -> bool:
    """Whether occlusion of an n-token prompt can run packed on this model."""
    config = model.config
    window = getattr(config, "sliding_window", None)
    return bool(model.is_causal and getattr(config, "model_type", None) in PACKED
                and getattr(config, "_attn_implementation", None) in ("eager", "sdpa")
                and not (isinstance(window, int) and window < n)
                and "logits_to_keep" in inspect.signature(model.model.forward).parameters)


def chunks(n: int, rows: int = ROWS) -> list[list[int]]:
    """The replaced positions of each packed pass: every pass holds the prompt's n rows and variant i's n - i, as
    many variants as fit in `rows` (one at least)."""
    out: list[list[int]] = [[]]
    used = n
    for i in range(n):
        if out[-1] and used + n - i > rows:
            out.append([])
            used = n
        out[-1].append(i)
        used += n - i
    return out


def layout(embeds: Any, baseline: Any, replaced: list[int]) -> tuple[Any, Any, Any, Any]:
    """One packed sequence: its rows [1, R, d], position ids [1, R], additive mask [1, 1, R, R] and the rows whose
    logits are read (each variant's last, then the prompt's last)."""
    import torch

    n = embeds.shape[1]
    device = embeds.device
    rows, positions, groups, limits = [], [], [], []
    for group, i in enumerate(replaced):
        variant = embeds[0, i:].clone()
        variant[0] = baseline[0, i]
        rows.append(variant)
        positions.append(torch.arange(i, n, device=device))
        groups.append(torch.full((n - i,), group, device=device))
        limits.append(torch.full((n - i,), i, device=device))  # the prompt's rows before i are the variant's own
    rows.append(embeds[0])
    positions.append(torch.arange(n, device=device))
    groups.append(torch.full((n,), -1, device=device))
    limits.append(torch.arange(1, n + 1, device=device))
    p, g, limit = torch.cat(positions), torch.cat(groups), torch.cat(limits)
    prompt = g == -1
    before = prompt[None, :] & (p[None, :] < limit[:, None])  # the prompt's rows a row may see
    own = (g[None, :] == g[:, None]) & (p[None, :] <= p[:, None])  # its own sequence's, causally
    allowed = before | own
    mask = torch.zeros(allowed.shape, dtype=embeds.dtype, device=device)
    mask = mask.masked_fill(~allowed, torch.finfo(embeds.dtype).min)[None, None]
    ends = torch.cumsum(torch.tensor([n - i for i in replaced] + [n], device=device), 0) - 1
    return torch.cat(rows)[None], p[None], mask, ends


def variants(embeds: Any, baseline: Any) -> list[Any]:
    """Each variant as a whole input [n, d] (to remember its value for the other methods)."""
    out = []
    for i in range(embeds.shape[1]):
        variant = embeds[0].clone()
        variant[i] = baseline[0, i]
        out.append(variant)
    return out


def tolerance(f_prompt: float, dtype: Any) -> float:
    """How far the packed pass's f(prompt) may be from the build's: float rounding of the model's dtype."""
    import torch

    return max(1e-3, 64 * torch.finfo(dtype).eps) * max(1.0, abs(f_prompt))


def occluded(run: Any, embeds: Any, baseline: Any, f_prompt: float, rows: int = ROWS) -> Any:
    """f of each variant [n] (float32), by packed passes; run(x, positions, mask, keep) -> f at the rows kept.
    None when a pass's f(prompt) is not the build's (the model did not honour the mask or the positions)."""
    import torch

    values = []
    for replaced in chunks(embeds.shape[1], rows):
        x, positions, mask, keep = layout(embeds, baseline, replaced)
        out = run(x, positions, mask, keep)
        if not abs(float(out[-1]) - f_prompt) <= tolerance(f_prompt, embeds.dtype):
            return None
        values.append(out[:-1])
    return torch.cat(values)
