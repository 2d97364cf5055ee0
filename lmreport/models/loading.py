"""Loading and unloading models (eager attention, one copy per model and runtime), converting a GGUF file once."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError
from lmreport.models import architecture
from lmreport.models.forward import LoadedModel
from lmreport.models.runtime import DTYPES, Runtime
from lmreport.models.sources import ModelSource, cache_home, file_hash, refuse_remote_code

if TYPE_CHECKING:
    pass
log = logging.getLogger("lmreport")


DEFAULT_RUNTIME = Runtime()  # the CPU or the GPU there is, float32
_LOADED: dict[str, LoadedModel] = {}


def is_loaded(source: ModelSource, runtime: Runtime = DEFAULT_RUNTIME) -> bool:
    return runtime.key(source) in _LOADED


def unload(source: ModelSource, runtime: Runtime = DEFAULT_RUNTIME) -> None:
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


def load(source: ModelSource, runtime: Runtime = DEFAULT_RUNTIME) -> LoadedModel:
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


def sizes_and_tokenizer(source: ModelSource, runtime: Runtime = DEFAULT_RUNTIME
                        ) -> tuple[dict[str, int], Any] | None:
    """The model's sizes (as LoadedModel.shape states them) and its tokenizer, read without loading its weights
    (or from the model when it is loaded already); None where that would mean converting a GGUF first, or where
    the folder cannot be read (the build reports that when it loads the model)."""
    if runtime.key(source) in _LOADED:
        loaded = _LOADED[runtime.key(source)]
        return loaded.shape(), loaded.tokenizer
    folder = cache_home() / "models" / source.revision[:24] if source.kind == "gguf" else source.path
    if not (folder / "config.json").is_file():
        return None
    from transformers import AutoConfig, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except Exception:  # noqa: BLE001 -- transformers raises many kinds for a bad folder; load() reports it
        return None
    layers = int(getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None) or 0)
    heads = int(getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None) or 0)
    vocab = int(getattr(config, "vocab_size", None) or len(tokenizer))
    return {"layers": layers, "heads": heads, "vocab": vocab}, tokenizer


def converted_folder(source: ModelSource) -> Path:
    """Dequantize a GGUF once into cache_home()/models/<hash>, then reuse it. A folder left incomplete (its
    config.json lost) is converted again and replaced; a cache home that cannot be written is a clear error, found
    before the slow conversion starts."""
    target = cache_home() / "models" / source.revision[:24]
    if (target / "config.json").is_file():
        if _intact(target):
            return target
        log.warning("the converted model in %s is not what its conversion wrote (a file changed since); converting "
                    "again", target)
    advice = "set LMREPORT_CACHE_HOME to a folder lmreport may write (converted models and file hashes are kept there)"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    except OSError as e:
        raise LmreportError(f"cannot convert {source.gguf_file} into '{target.parent}': {e.strerror or e}; {advice}"
                            ) from None
    try:
        started = time.perf_counter()
        _convert(source, staging)
        _record(staging)
        log.info("converted in %.1fs into %s", time.perf_counter() - started, target)
        if target.exists():
            shutil.rmtree(target)  # an incomplete or damaged conversion: replaced whole
        os.replace(staging, target)
    except OSError as e:
        if not (target / "config.json").is_file():  # else another build converted it meanwhile
            raise LmreportError(f"cannot write the converted model into '{target}': {e.strerror or e}; {advice}"
                                ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


CONVERSION_RECORD = "lmreport-conversion.json"  # the sha256 of every file the conversion wrote


def _record(folder: Path) -> None:
    files = {p.name: file_hash(p) for p in sorted(folder.iterdir()) if p.is_file()}
    (folder / CONVERSION_RECORD).write_text(json.dumps(files, indent=1), encoding="utf-8")


def _intact(folder: Path) -> bool:
    """Whether every file the conversion recorded is there with its hash (hashes are remembered by size and time,
    so this reads the weights again only after they changed). A folder converted before records existed is
    recorded now."""
    try:
        recorded = json.loads((folder / CONVERSION_RECORD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        try:
            _record(folder)
        except OSError:  # a read-only cache: checked from the next conversion on
            pass
        return True
    except (OSError, ValueError):
        return False
    try:
        return isinstance(recorded, dict) and bool(recorded) and all(
            isinstance(name, str) and "/" not in name and file_hash(folder / name) == digest
            for name, digest in recorded.items())
    except OSError:  # a recorded file is gone
        return False


def _convert(source: ModelSource, folder: Path) -> None:
    """The GGUF file's weights, dequantized to float32, and its tokenizer, saved into folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s (once; later builds load the converted weights)", source.gguf_file)
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
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
