"""Helpers several analyses share: positions, candidate tokens, ranks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

if TYPE_CHECKING:
    import torch


def resolve_position(position: int, n_tokens: int, option: str = "position") -> int:
    """A position given as in Python (negative counts from the end) as a 0-based index."""
    if not -n_tokens <= position < n_tokens:
        raise AnalysisError(
            f"position {position} is out of range: the prompt has {n_tokens} tokens "
            f"(0 to {n_tokens - 1}, or -1 for the last)",
            option,
        )
    return position % n_tokens


def resolve_index(value: int, size: int, what: str, option: str, model_name: str) -> int:
    """A layer or head given as in Python (-1 is the last) as a 0-based index."""
    if not -size <= value < size:
        raise AnalysisError(f"{what} {value} is out of range: {model_name} has {what}s 0 to {size - 1} "
                            f"(or -1 for the last)", option)
    return value % size


LAYER_RULE = "layer 0 is the embeddings, layer n the residual stream after block n (blocks count from 1)"


def block_index(value: int, n_layers: int) -> int | None:
    """A block named as on every page (1 is the first block, n_layers the last, -1 the last too) as a 0-based
    index into the model's blocks; None if the model has no such block (0 names the embeddings, which no block
    is)."""
    if not (1 <= value <= n_layers or -n_layers <= value <= -1):
        return None
    return value - 1 if value > 0 else value % n_layers


def resolve_layer(value: int, n_layers: int, option: str, model_name: str) -> int:
    """block_index, or an error on the option that named a block the model does not have."""
    index = block_index(value, n_layers)
    if index is None:
        raise AnalysisError(f"layer {value} is out of range: {model_name} has blocks 1 to {n_layers} "
                            f"(or -1 for the last; {LAYER_RULE})", option)
    return index


def target_and_contrast(model: LoadedModel, forward: ForwardPass, options: dict[str, Any]) -> tuple[int, int | None]:
    """The token a block explains (options 'target', else the one the model predicts after the prompt) and the
    one it is set against (option 'contrast', or None)."""
    target = candidate_ids(model, [options["target"]], "target")[0] if options["target"] else \
        int(forward.logits[-1].argmax())
    contrast = candidate_ids(model, [options["contrast"]], "contrast")[0] if options["contrast"] else None
    if contrast == target:
        raise AnalysisError("contrast is the target itself: name another token", "contrast")
    return target, contrast


def candidate_ids(model: LoadedModel, texts: list[str], option: str = "tokens") -> list[int]:
    """One token id per candidate text; a text that is several tokens for this model makes the block not
    applicable to it (NotApplicable, naming the pieces)."""
    ids = []
    for text in texts:
        try:
            ids.append(model.single_token(text))
        except AnalysisError as e:
            raise type(e)(str(e), option) from None
    return ids


def space_notes(model: LoadedModel, texts: list[str]) -> list[str]:
    """Reminders for candidates written without a leading space when the spaced form is a token too:
    after a word, the model almost always predicts the spaced one."""
    notes = []
    for text in texts:
        if text and not text[0].isspace():
            spaced = model.tokenizer(" " + text, add_special_tokens=False)["input_ids"]
            if len(spaced) == 1:
                notes.append(f"'{text}' has no leading space; ' {text}' is a different token, usually the one "
                             "that follows a word. Write tokens: [\" " + text + "\", ...] to follow it.")
    return notes


def ranks(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """1-based ranks [..., c] of token ids [..., c] among logits [..., vocab] (1 = most likely; ties share
    the better rank). Logits rank exactly as probabilities do."""
    chosen = logits.gather(-1, ids)  # [..., c]
    return (logits.unsqueeze(-2) > chosen.unsqueeze(-1)).sum(-1) + 1


def log_probabilities(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Log-softmax [..., c] of token ids [..., c], in float64 (log-sum-exp over the vocabulary)."""
    return logits.gather(-1, ids).double() - logits.double().logsumexp(-1, keepdim=True)


def probabilities(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities [..., c] of token ids [..., c], in float64."""
    return log_probabilities(logits, ids).exp()


def layer_names(n_rows: int) -> list[str]:
    """Row labels of a layer axis: embeddings, then layer 1..L (the last is the output)."""
    return ["embeddings"] + [f"layer {i}" for i in range(1, n_rows)]
