"""The residual stream of many prompts at one position each, in batches: the rows a probe reads.

Prompts are batched by token count, never padded: a batch of prompts of one length needs no attention mask, no
position ids and no padding side, so each prompt is computed as its own forward pass computes it, on any
architecture (absolute or rotary positions, causal or bidirectional). Short labelled prompts share few lengths,
so the batches stay full."""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import TYPE_CHECKING

from lmreport.models import architecture
from lmreport.models.forward import LoadedModel

if TYPE_CHECKING:
    import torch

BATCH_TOKENS = 4_096  # tokens per batch: its hidden states are (layers + 1) × this × d_model numbers


def states_at(model: LoadedModel, prompts_ids: list[list[int]], positions: list[int]) -> torch.Tensor:
    """[prompt, layer + 1, d_model] float32 on the CPU: each prompt's residual stream at its own position, with
    ForwardPass.hidden_states's rows (0 the embeddings, n after block n, the last before the final norm)."""
    import torch

    by_length: dict[int, list[int]] = defaultdict(list)
    for i, ids in enumerate(prompts_ids):
        by_length[len(ids)].append(i)
    out: torch.Tensor | None = None
    for length, members in sorted(by_length.items()):
        per_batch = max(1, BATCH_TOKENS // length)
        for start in range(0, len(members), per_batch):
            chunk = members[start : start + per_batch]
            rows = _batch_rows(model, [prompts_ids[i] for i in chunk], [positions[i] for i in chunk])
            if out is None:
                out = torch.empty((len(prompts_ids), *rows.shape[1:]), dtype=torch.float32)
            out[chunk] = rows
    if out is None:
        raise ValueError("no prompts")
    return out


def _batch_rows(model: LoadedModel, batch: list[list[int]], positions: list[int]) -> torch.Tensor:
    """One forward pass over prompts of one length: [prompt, layer + 1, d] at each prompt's position."""
    import torch

    norm = architecture.final_norm(model.model)
    hooked = {"final_norm": norm} if norm is not None else {}
    # Only the hidden states are read: where the model can skip the unembedding of every position, it does.
    keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.model.forward).parameters else {}
    with torch.no_grad(), architecture.capture_inputs(hooked) as captured:
        out = model.model(input_ids=torch.tensor(batch, device=model.device), output_hidden_states=True, **keep)
    model.forward_count += 1
    rows = list(out.hidden_states)
    if "final_norm" in captured:
        rows[-1] = captured["final_norm"]  # the residual stream before the final norm, as ForwardPass keeps it
    which, at = torch.arange(len(batch)), torch.tensor(positions)
    return torch.stack([row[which.to(row.device), at.to(row.device)].float().cpu() for row in rows], dim=1)
