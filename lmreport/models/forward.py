"""A loaded model and its single forward pass per prompt, with the logit lens read from it."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from lmreport.errors import AnalysisError, NotApplicable
from lmreport.models import architecture
from lmreport.models.runtime import Runtime
from lmreport.models.sources import ModelSource

if TYPE_CHECKING:
    import torch


# Eager attention keeps layer × head × n² weights: 1024 tokens is about 1 GiB for SmolLM2.
MAX_PROMPT_TOKENS = 1024


# The logit lens of a short prompt is kept with its forward pass for the next analysis, up to this size.
LENS_CACHE_BYTES = 256 * 2**20


LENS_CHUNK_BYTES = 128 * 2**20  # logits computed in one matrix product


# Tokens per float32 product in LoadedModel.unembed: its output rows stay in cache (see there).
VOCAB_BLOCK = 2048


# What a forward pass may keep besides the logits ("heads": each head's output before the attention output
# projection mixes them, which the per-head attributions read from the same pass rather than running another).
EVERYTHING = frozenset(("hidden_states", "attentions", "mlp", "heads"))


@dataclass
class ForwardPass:
    """Everything one forward pass gives, for one prompt (batch dimension removed).

    logits: [pos, vocab] (None for encoders).
    hidden_states: [layer+1, pos, d_model], the residual stream: embeddings, then after each layer
        (the last row before the final norm, unlike transformers' own output, so rows compare alike).
    attentions: [layer, head, query, key].
    mlp_activations: [layer, pos, d_ff], the MLP neurons as the output projection reads them: the
        nonlinearity's output, or SiLU(gate) * up in a gated MLP (None if not found).
    head_outputs: [layer, pos, heads × d_head], what each layer's attention output projection reads: head h's
        attention-weighted values in columns h·d_head to (h+1)·d_head (None if not kept or not found).
    """

    prompt: str
    input_ids: list[int]
    tokens: list[str]
    logits: torch.Tensor | None
    hidden_states: torch.Tensor  # None when the analyses of the prompt do not read it (see LoadedModel.forward)
    attentions: torch.Tensor  # likewise
    mlp_activations: torch.Tensor | None = None
    lens: list[torch.Tensor] | None = field(default=None, repr=False)  # the logit lens, once computed
    kept: frozenset[str] = EVERYTHING
    head_outputs: torch.Tensor | None = None


@dataclass
class LoadedModel:
    """A model and tokenizer in memory, with one cached forward pass per prompt."""

    source: ModelSource
    model: Any
    tokenizer: Any
    is_causal: bool
    runtime: Runtime = field(default_factory=Runtime)
    forward_count: int = 0
    _forwards: dict[str, ForwardPass] = field(default_factory=dict, repr=False)
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def derived(self, name: str, make: Callable[[], Any]) -> Any:
        """make(), computed once per loaded model: for what an analysis derives from the weights alone (they do not
        change once loaded), such as a copy in another precision, so that every call does not pay for it again.
        It is freed with the model."""
        if name not in self._derived:
            self._derived[name] = make()
        return self._derived[name]

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def device(self) -> Any:
        """Where the model's inputs go (its first parameter's device, also when it is spread over several)."""
        return next(self.model.parameters()).device

    def run_module(self, module: Any, x: torch.Tensor) -> torch.Tensor:
        """module(x) for a part of the model, with x moved to that part's device and precision and the result
        read back as CPU float32, as every ForwardPass tensor is."""
        import torch

        parameter = next(module.parameters(), None)
        if parameter is not None:
            x = x.to(device=parameter.device, dtype=parameter.dtype)
        with torch.no_grad():
            return module(x).float().cpu()

    @property
    def n_layers(self) -> int:
        return int(self.config.num_hidden_layers)

    def shape(self, forward: ForwardPass | None = None) -> dict[str, int]:
        """The model's sizes, as lesson prose may cite them (`=id.layers`): layers, heads, key/value heads,
        residual width, head width, MLP neurons per layer, vocabulary."""
        c = self.config
        heads = int(getattr(c, "num_attention_heads", None) or getattr(c, "n_head", None) or 0)
        d_model = int(getattr(c, "hidden_size", None) or getattr(c, "n_embd", None) or 0)
        acts = forward.mlp_activations if forward is not None else None
        d_ff = int(acts.shape[-1]) if acts is not None else int(
            getattr(c, "intermediate_size", None) or getattr(c, "n_inner", None) or getattr(c, "ffn_dim", None)
            or 4 * d_model)
        return {
            "layers": self.n_layers,
            "heads": heads,
            "kv_heads": int(getattr(c, "num_key_value_heads", None) or heads),
            "d_model": d_model,
            "d_head": int(getattr(c, "head_dim", None) or (d_model // heads if heads else 0)),
            "d_ff": d_ff,
            "vocab": self.vocab_size,
        }

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[0])

    @property
    def max_positions(self) -> int | None:
        for name in ("max_position_embeddings", "n_positions", "n_ctx"):
            value = getattr(self.config, name, None)
            if isinstance(value, int):
                return value
        return None

    @property
    def architecture(self) -> str:
        return (self.config.architectures or [type(self.model).__name__])[0]

    def forward(self, prompt: str, needs: Collection[str] = EVERYTHING) -> ForwardPass:
        """Run (or reuse) the single forward pass for this prompt, keeping what the analyses of the prompt read
        (needs: any of EVERYTHING; the logits are always kept)."""
        kept = self._forwards.get(prompt)
        if kept is None or not set(needs) <= kept.kept:
            wanted = set(needs) | (kept.kept if kept is not None else set())
            self._forwards[prompt] = self.run_ids(prompt, self.encode(prompt), wanted)
        return self._forwards[prompt]

    def forget(self, prompt: str) -> None:
        self._forwards.pop(prompt, None)

    def encode(self, prompt: str) -> list[int]:
        ids = self.tokenizer(prompt)["input_ids"]
        if not ids:
            raise AnalysisError("the prompt gives no tokens", "prompt")
        return list(ids)

    def run_ids(self, label: str, ids: list[int], needs: Collection[str] = EVERYTHING) -> ForwardPass:
        """One forward pass over token ids, keeping logits and what needs names of the residual stream
        ("hidden_states"), attention weights ("attentions", layer × head × n² numbers), MLP neurons ("mlp") and
        the heads' outputs ("heads")."""
        import torch

        limit = self.max_positions
        if limit is not None and len(ids) > limit:
            raise AnalysisError(
                f"the prompt is {len(ids)} tokens long; {self.source.name} reads at most {limit}", "prompt"
            )
        if len(ids) > MAX_PROMPT_TOKENS:
            raise AnalysisError(
                f"the prompt is {len(ids)} tokens long; lmreport analyses at most {MAX_PROMPT_TOKENS} "
                "(attention weights grow with the square of the length)",
                "prompt",
            )
        needs = set(needs)
        layers = architecture.decoder_layers(self.model)
        hooked = {}
        if "mlp" in needs:
            mlp_outs = {i: architecture.mlp_output(layer) for i, layer in enumerate(layers)}
            hooked = {i: m for i, m in mlp_outs.items() if m is not None}
        if "heads" in needs:
            hooked.update({("heads", i): m for i, m in enumerate(map(architecture.attention_output, layers))
                           if m is not None})
        norm = architecture.final_norm(self.model)
        if norm is not None and "hidden_states" in needs:
            hooked[-1] = norm
        with torch.no_grad(), architecture.capture_inputs(hooked) as captured:
            out = self.model(torch.tensor([ids], device=self.device), output_hidden_states="hidden_states" in needs,
                             output_attentions="attentions" in needs)
        self.forward_count += 1
        if self.is_causal and not torch.isfinite(out.logits).all():
            raise AnalysisError(f"{self.source.name} gives logits that are not finite numbers (NaN or infinity) for "
                                "this prompt: its weights may be damaged (a converted model is checked against what "
                                "its conversion wrote; a folder of your own is not)", "prompt")
        hidden = None
        if "hidden_states" in needs:
            rows = [h[0].float().cpu() for h in out.hidden_states]
            if -1 in captured:
                rows[-1] = unbatched(captured[-1]).float().cpu()  # the residual stream before the final norm
            hidden = torch.stack(rows)
        mlp = None
        if layers and all(i in captured for i in range(len(layers))):
            mlp = torch.stack([unbatched(captured[i]).float().cpu() for i in range(len(layers))])
        heads = None
        if layers and all(("heads", i) in captured for i in range(len(layers))):
            heads = torch.stack([captured["heads", i].reshape(len(ids), -1).float().cpu() for i in range(len(layers))])
        return ForwardPass(
            prompt=label,
            input_ids=list(ids),
            tokens=self.token_texts(list(ids)),
            logits=out.logits[0].float().cpu() if self.is_causal else None,
            hidden_states=hidden,
            attentions=torch.stack([a[0].float().cpu() for a in out.attentions]) if "attentions" in needs else None,
            mlp_activations=mlp,
            kept=frozenset(needs),
            head_outputs=heads,
        )

    def token_texts(self, ids: list[int]) -> list[str]:
        """Each token as the text it stands for, leading spaces kept (' Paris', not 'ĠParis'); a piece of a
        multi-byte character shows its bytes ('\\xe2\\x80') instead of '�'."""
        pieces = self.tokenizer.convert_ids_to_tokens(ids)
        texts = []
        for token_id, piece in zip(ids, pieces, strict=True):
            text = self.tokenizer.decode([token_id], clean_up_tokenization_spaces=False)
            if isinstance(piece, str) and piece.startswith("▁") and not text.startswith(" "):
                text = " " + text
            if "\ufffd" in text and isinstance(piece, str):
                text = _byte_piece(piece) or text
            texts.append(text)
        return texts

    def single_token(self, text: str) -> int:
        """The id of a candidate that must be exactly one token; the error shows how it splits."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            return int(ids[0])
        if not ids:
            raise AnalysisError(f"candidate {text!r} gives no token")
        pieces = " + ".join(repr(t) for t in self.token_texts(ids))
        # Not applicable rather than an error: the same candidate may be one token for the model the lesson was
        # written for and several for another model of a matrix (another tokenizer).
        raise NotApplicable(
            f"candidate {text!r} is {len(ids)} tokens for {self.source.name} ({pieces}); "
            "name a single token (ranks are per token), e.g. its first piece"
        )

    def require_lm_head(self, analysis: str) -> None:
        if not self.is_causal:
            raise NotApplicable(
                f"{analysis} needs a model that predicts the next token; {self.source.name} is an encoder "
                f"({self.architecture})"
            )

    def final_norm(self) -> Any:
        """The norm applied before the unembedding (ln_f, norm, final_layer_norm...)."""
        norm = architecture.final_norm(self.model)
        if norm is None:
            looked = ", ".join(architecture.FINAL_NORM_PATHS)
            raise NotApplicable(f"cannot find the final norm of {self.architecture} (looked for {looked} in "
                                f"{type(self.model.base_model).__name__})")
        return norm

    def lens(self, forward: ForwardPass, position: int | None = None) -> Iterator[torch.Tensor]:
        """Logit lens, one layer at a time (embeddings, then after each layer): logits [pos, vocab], or
        [vocab] at one position, from the residual stream through the final norm and the unembedding. The
        last one is the model's own output. Yielding per layer keeps memory to one [pos, vocab] block even
        for long prompts; ranks compare logits directly, probabilities come from lens_log_probs."""
        import torch

        if forward.logits is None:
            raise NotApplicable(f"{self.source.name} is an encoder ({self.architecture}): it predicts no next token")
        if position is None and forward.lens is not None:
            yield from forward.lens
            return
        norm = self.final_norm()
        unembed = self.model.get_output_embeddings()
        hidden = forward.hidden_states[:-1]  # [layer, pos, d]
        if position is not None:
            position %= hidden.shape[1]  # -1 means the last, as everywhere else
            hidden = hidden[:, position : position + 1]
        n_layers, n_pos, d = hidden.shape
        # Several layers per matrix product: the unembedding matrix is read once per chunk, not once per
        # layer (a product of one row per layer is limited by memory, not arithmetic).
        per_chunk = max(1, LENS_CHUNK_BYTES // (n_pos * self.vocab_size * 4))
        keep = position is None and n_layers * n_pos * self.vocab_size * 4 <= LENS_CACHE_BYTES
        kept = []
        with torch.no_grad():
            for start in range(0, n_layers, per_chunk):
                block = hidden[start : start + per_chunk]
                normed = self.run_module(norm, block.reshape(-1, d))
                logits = self.soft_cap(self.unembed(unembed, normed)).view(len(block), n_pos, -1)
                for layer_logits in logits:
                    layer_logits = layer_logits if position is None else layer_logits[0]
                    if keep:
                        kept.append(layer_logits)
                    yield layer_logits
        last = forward.logits if position is None else forward.logits[position]
        yield last
        if keep:
            # Several analyses of one prompt (logit lens, rank evolution) then share the unembedding work.
            forward.lens = kept + [last]

    def unembed(self, unembed: Any, normed: torch.Tensor) -> torch.Tensor:
        """unembed(normed), rows already through the final norm, as float32 CPU logits [rows, vocab]. With MKL, a
        float32 Linear without bias on the CPU is computed VOCAB_BLOCK tokens at a time into one output: the same
        bits (MKL gives a column the same value whatever other columns it computes with, from 16 of them), and
        faster on this project's machines (7-10% for a short prompt's lens) than one product whose 49,152-wide
        output rows leave the cache."""
        import torch

        weight = getattr(unembed, "weight", None)
        vocab = weight.shape[0] if weight is not None else 0
        if not (isinstance(unembed, torch.nn.Linear) and unembed.bias is None and weight.dtype == torch.float32
                and weight.device.type == "cpu" and normed.dtype == torch.float32 and vocab >= 2 * VOCAB_BLOCK
                and torch.backends.mkl.is_available()):
            return self.run_module(unembed, normed)
        out = normed.new_empty(len(normed), vocab)
        starts = list(range(0, vocab, VOCAB_BLOCK))
        if vocab - starts[-1] < VOCAB_BLOCK // 2:
            starts.pop()  # no narrow last block: the previous one runs to the end
        with torch.no_grad():
            for start, end in zip(starts, starts[1:] + [vocab], strict=True):
                out[:, start:end] = torch.nn.functional.linear(normed, weight[start:end])
        return out

    def soft_cap(self, logits: torch.Tensor) -> torch.Tensor:
        """The model's own squashing of its output logits, where it has one (Gemma 2: cap · tanh(x / cap)), so
        that every row of the logit lens is read as the output row is."""
        import torch

        cap = getattr(self.config, "final_logit_softcapping", None)
        return torch.tanh(logits / cap) * cap if cap else logits

    def lens_at(self, forward: ForwardPass, position: int) -> torch.Tensor:
        """Logit lens at one position for every layer: [layer+1, vocab] logits."""
        import torch

        return torch.stack(list(self.lens(forward, position)))


def unbatched(x: torch.Tensor) -> torch.Tensor:
    """[1, pos, d] -> [pos, d]; some models (OPT) flatten to [pos, d] before their MLP already."""
    return x[0] if x.dim() == 3 else x


_BYTE_FALLBACK = re.compile(r"^(<0x[0-9A-Fa-f]{2}>)+$")


def _byte_piece(piece: str) -> str | None:
    """A token that is part of a UTF-8 character, as readable escapes: byte-level BPE ('â' -> '\\xe2') or
    sentencepiece byte fallback ('<0xE2>')."""
    if _BYTE_FALLBACK.match(piece):
        raw = bytes(int(h, 16) for h in re.findall(r"<0x([0-9A-Fa-f]{2})>", piece))
        return raw.decode("utf-8", errors="backslashreplace")
    decoder = _byte_decoder()
    if piece and all(c in decoder for c in piece):
        return bytes(decoder[c] for c in piece).decode("utf-8", errors="backslashreplace")
    return None


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, character -> byte (transformers keeps the table with its converters)."""
    try:
        from transformers.convert_slow_tokenizer import bytes_to_unicode
    except ImportError:
        return {}
    return {v: k for k, v in bytes_to_unicode().items()}
