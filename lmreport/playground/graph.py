"""The playground's graph as a torch module: one prompt in, the next-token logits, the logit lens and every
layer's attention weights out, so the reader's browser runs the whole of it in one call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError

if TYPE_CHECKING:
    import torch

    from lmreport.models.forward import LoadedModel


INPUT = "input_ids"  # int64 [1, n]
OUTPUTS = ("logits", "lens_probs", "lens_ids", "attentions")


def output_shapes(layers: int, heads: int, vocab: int, top: int) -> dict[str, dict[str, Any]]:
    """Each output's dtype and shape, "n" standing for the prompt's length."""
    return {
        "logits": {"dtype": "float32", "shape": [vocab]},
        "lens_probs": {"dtype": "float32", "shape": [layers + 1, "n", top]},
        "lens_ids": {"dtype": "int64", "shape": [layers + 1, "n", top]},
        "attentions": {"dtype": "float32", "shape": [layers, heads, "n", "n"]},
    }


def playground_module(loaded: LoadedModel, top: int) -> torch.nn.Module:
    """The model wrapped for export (see PlaygroundGraph); refuses a model the graph cannot mirror."""
    import torch

    loaded.require_lm_head("the playground")
    if loaded.runtime.dtype != "float32" or loaded.device.type != "cpu":
        raise LmreportError(f"the playground exports a model loaded on the CPU in float32; {loaded.source.name} is "
                            f"loaded on {loaded.device.type} in {loaded.runtime.dtype}")
    if top < 1 or top > loaded.vocab_size:
        raise LmreportError(f"top must be between 1 and the vocabulary's size ({loaded.vocab_size}), not {top}")

    class PlaygroundGraph(torch.nn.Module):
        """input_ids [1, n] -> logits [vocab] (the last position's), lens_probs and lens_ids [layer+1, n, top],
        attentions [layer, head, n, n]."""

        def __init__(self) -> None:
            super().__init__()
            self.base = loaded.model.base_model
            self.norm = loaded.final_norm()
            self.unembed = loaded.model.get_output_embeddings()

        def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.base(input_ids=input_ids, output_hidden_states=True, output_attentions=True, use_cache=False)
            # The rows LoadedModel.lens reads: the residual stream before the final norm (embeddings, then after
            # each block but the last) through the norm; the last row is the model's own output, from its last
            # hidden state, which the base model has normed already. Each row is unembedded as 2-D [n, d] so the
            # exporter writes a Gemm that reads the (tied) table as stored, not a transposed copy of it.
            rows = [self.norm(h[0]) for h in out.hidden_states[:-1]] + [out.last_hidden_state[0]]
            probs, ids, logits = [], [], None
            for row in rows:
                logits = loaded.soft_cap(self.unembed(row))  # [n, vocab]
                # One row at a time: a runtime frees each [n, vocab] block before the next.
                top_ids = torch.topk(logits, top, dim=-1).indices
                # Softmax, then the top cells: onnxruntime's ReduceLogSumExp sums 49,152 exponentials less
                # exactly (2e-4 off in probability on SmolLM2, against 2e-5 for its Softmax).
                probs.append(torch.softmax(logits, dim=-1).gather(-1, top_ids))
                ids.append(top_ids)
            attentions = torch.stack([a[0] for a in out.attentions])
            return logits[-1], torch.stack(probs), torch.stack(ids), attentions

    module = PlaygroundGraph().eval()
    _same_as_model(loaded, module)
    return module


def _same_as_model(loaded: LoadedModel, module: torch.nn.Module) -> None:
    """The wrapper's next-token logits must be the model's own: a model that scales or squashes its logits in a way
    the wrapper does not know (other than soft-capping) is refused before the slow export."""
    import torch

    ids = torch.tensor([loaded.encode("The capital of France is")])
    with torch.no_grad():
        own = loaded.model(input_ids=ids, use_cache=False).logits[0, -1]
        logits, _, _, attentions = module(ids)
    if logits.shape != own.shape or not torch.allclose(logits, own, rtol=1e-4, atol=1e-4):
        gap = float((logits - own).abs().max()) if logits.shape == own.shape else float("nan")
        raise LmreportError(f"{loaded.source.name} ({loaded.architecture}) computes its output logits in a way the "
                            f"playground's graph does not reproduce (largest difference {gap:.3g}); it cannot be "
                            "exported")
    expected = (loaded.n_layers, loaded.shape()["heads"])
    if tuple(attentions.shape[:2]) != expected:
        raise LmreportError(f"{loaded.source.name} gives attention weights for {tuple(attentions.shape[:2])} layers × "
                            f"heads, not {expected}: it cannot be exported")


def example_input(loaded: LoadedModel) -> torch.Tensor:
    """A prompt to trace with: long enough that no length is taken for a constant."""
    import torch

    return torch.tensor([loaded.encode("The capital of France is Paris, and the capital of Italy is")])


def max_tokens(loaded: LoadedModel) -> int:
    """The longest prompt the graph takes: the model's positions, and no more than lmreport analyses."""
    from lmreport.models.forward import MAX_PROMPT_TOKENS

    return min(loaded.max_positions or MAX_PROMPT_TOKENS, MAX_PROMPT_TOKENS)
