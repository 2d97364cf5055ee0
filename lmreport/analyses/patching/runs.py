"""The runs of activation patching: the tensors a site names, the clean run that records them, and batched
corrupted runs that restore parts of them.

A site is one module per row of the grid, read at its output (the residual stream after a block, an attention or
MLP sub-block's output) or at its input (the heads, side by side where the attention output projection reads
them). A patched run is the corrupted prompt repeated once per batch item; a forward hook on one module puts the
clean values back where that item's mask says, and leaves the rest as the corrupted run computed it. The prompts
are as long, so no item is padded and every item is the corrupted run alone but for what it restores.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmreport.errors import NotApplicable
from lmreport.models import architecture

if TYPE_CHECKING:
    import torch

    from lmreport.models.forward import LoadedModel

SITES = ("residual", "attn", "mlp", "heads")


@dataclass(frozen=True)
class Site:
    """The modules of a site, one per row of the grid; layers: each row's number as the pages count it (0 the
    embeddings, n block n or the residual stream after it); reads_input: the module's input is patched (the
    heads), else its output."""

    name: str
    modules: list[Any]
    layers: list[int]
    reads_input: bool = False


def site_of(model: LoadedModel, name: str) -> Site:
    """The site a block names, found in this model (NotApplicable names what was looked for)."""
    layers = architecture.decoder_layers(model.model)
    if not layers:
        raise NotApplicable(f"cannot find the blocks of {model.architecture} (looked for "
                            f"{', '.join(architecture.LAYER_PATHS)})")
    numbers = list(range(1, len(layers) + 1))
    if name == "residual":
        # Row 0 restores the embedding of one token: what the clean prompt puts there, nothing computed yet.
        return Site(name, [model.model.get_input_embeddings(), *layers], [0, *numbers])
    if name == "mlp":
        modules = [architecture.mlp_output(layer) for layer in layers]
        if any(m is None for m in modules):
            raise NotApplicable(f"cannot find the MLP output projection of {model.architecture}")
    else:
        modules = [architecture.attention_output(layer) for layer in layers]
        if any(m is None for m in modules):
            raise NotApplicable(f"cannot find the attention output projection of {model.architecture} (looked for "
                                f"{', '.join(architecture.ATTENTION_OUT_PATHS)})")
    return Site(name, modules, numbers, reads_input=name == "heads")


def last_logits(model: LoadedModel, ids: torch.Tensor) -> torch.Tensor:
    """The logits at the last position of each row of ids [batch, n], as [batch, vocab] float64 (only that
    position is unembedded where the model allows it: the vocabulary is the largest matrix of a small model)."""
    import torch

    keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.model.forward).parameters else {}
    with torch.no_grad():
        logits = model.model(input_ids=ids.to(model.device), use_cache=False, **keep).logits[:, -1]
    model.forward_count += 1
    return logits.double().cpu()


def recorded_run(model: LoadedModel, ids: list[int], site: Site) -> tuple[list[torch.Tensor], torch.Tensor]:
    """One run of a prompt: what each module of the site held ([n, width] each, in the model's own precision
    and device, so that restoring it puts back exactly those numbers) and the last logits [vocab]."""
    import torch

    modules = dict(enumerate(site.modules))
    capture = architecture.capture_inputs if site.reads_input else architecture.capture_outputs
    with capture(modules) as captured:
        logits = last_logits(model, torch.tensor([ids]))[0]
    n = len(ids)
    return [captured[i].reshape(n, -1) for i in range(len(modules))], logits


@contextmanager
def restoring(module: Any, clean: torch.Tensor, masks: torch.Tensor, reads_input: bool) -> Iterator[None]:
    """While open, the module's output (or input) in batch item b takes the clean values [n, width] where
    masks[b] [n, width] is true; the hook is always removed. A run of batch 1 is widened here to the masks'
    batch: what comes before the module is then computed once for all items."""
    import torch

    def restored(x: torch.Tensor) -> torch.Tensor:
        mask = masks.to(x.device)
        # Some models (OPT) flatten batch and positions before their MLP: they stay flattened.
        rows = torch.where(mask, clean.to(x.dtype)[None], x.reshape(-1, *mask.shape[1:]))
        return rows.reshape(-1, rows.shape[-1]) if x.dim() == 2 else rows

    def after(_module: Any, _args: tuple, output: Any) -> Any:
        if isinstance(output, tuple):
            return (restored(output[0]), *output[1:])
        return restored(output)

    def before(_module: Any, args: tuple) -> tuple:
        return (restored(args[0]), *args[1:])

    handle = module.register_forward_pre_hook(before) if reads_input else module.register_forward_hook(after)
    try:
        yield
    finally:
        handle.remove()


def patched_logits(model: LoadedModel, corrupted: list[int], site: Site, row: int, clean: torch.Tensor,
                   masks: torch.Tensor, shared: bool = True) -> torch.Tensor:
    """The last logits [batch, vocab] of the corrupted prompt with, in batch item b, row `row`'s clean values
    restored where masks[b] [n, width] is true: one forward pass for the whole batch.

    shared: run the corrupted prompt once up to the restored module and widen it to the batch there (every item
    is the same until then); a model whose later code cannot take the wider batch (OPT's MLP adds a flattened
    output to its unflattened input) raises RuntimeError: run it with shared=False, the prompt repeated."""
    import torch

    ids = torch.tensor([corrupted] * (1 if shared else masks.shape[0]))
    with restoring(site.modules[row], clean, masks, site.reads_input):
        logits = last_logits(model, ids)
    if logits.shape[0] != masks.shape[0]:
        raise RuntimeError(f"{logits.shape[0]} rows of logits for a batch of {masks.shape[0]}")
    return logits


def position_masks(n: int, width: int, positions: list[int]) -> torch.Tensor:
    """One mask per position: item i restores every number at positions[i] [len(positions), n, width]."""
    import torch

    masks = torch.zeros(len(positions), n, width, dtype=torch.bool)
    for i, position in enumerate(positions):
        masks[i, position] = True
    return masks


def head_masks(n: int, width: int, n_heads: int, heads: list[int]) -> torch.Tensor:
    """One mask per head: item i restores head heads[i]'s slice (of width / n_heads) at every position."""
    import torch

    d_head = width // n_heads
    masks = torch.zeros(len(heads), n, width, dtype=torch.bool)
    for i, head in enumerate(heads):
        masks[i, :, head * d_head:(head + 1) * d_head] = True
    return masks
