"""The playground's model, exported once per model, weight format and exporter and kept in the build's cache.

A bundle is a folder: model.onnx, tokenizer.json, export.json (what export() wrote and measured) and built.json
(the build's own next-token numbers for the course's prompts, which the page shows beside its own when the reader
runs one of them). It is made again when the model, the weight format, the exporter's code or the versions of
torch, transformers, onnx, onnxscript or onnxruntime change; the check on the course's prompts runs again when the
prompts change."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lmreport import models
from lmreport.analyses.spec import source_hash
from lmreport.errors import LmreportError
from lmreport.playground import TOOLS
from lmreport.versions import package_versions

log = logging.getLogger("lmreport")

WEIGHTS = ("fp16", "fp32", "int8")
TOP = 5  # tokens per logit-lens cell, computed in the graph
MAX_TOKENS = 64  # the page's longest prompt: attention grows with its square
BUILT_K = 10


def tools_missing() -> list[str]:
    return [name for name, found in package_versions(TOOLS).items() if found == "not installed"]


def bundle_key(source: models.ModelSource, weights: str) -> str:
    parts = [source.key, weights, str(TOP), source_hash("lmreport.playground.export")]
    parts += [f"{name} {found}" for name, found in package_versions(TOOLS).items()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def prepare(source: models.ModelSource, runtime: models.Runtime, weights: str, cache_dir: Path,
            prompts: list[str]) -> tuple[Path, dict[str, Any]]:
    """The bundle's folder and the page's summary of it (sizes, weight format, the check on the course's prompts,
    the build's own numbers for them), exporting and checking only what the cache does not hold."""
    if weights not in WEIGHTS:
        raise LmreportError(f"playground weights '{weights}' is not one of {', '.join(WEIGHTS)}")
    missing = tools_missing()
    if missing:
        raise LmreportError(f"the playground needs {', '.join(missing)}: pip install 'lmreport[playground]' (or "
                            "pip install onnx onnxscript onnxruntime)")
    folder = Path(cache_dir) / "playground" / bundle_key(source, weights)
    if not (folder / "export.json").is_file():
        _export(source, runtime, weights, folder, prompts)
    info = json.loads((folder / "export.json").read_text())
    prompts = [p for p in dict.fromkeys(prompts)]
    checked = _prompts_digest(prompts)
    if info.get("checked_prompts") != checked:  # the course's prompts changed: check them, and record their numbers
        _check_again(source, runtime, folder, info, prompts)
        info = json.loads((folder / "export.json").read_text())
    built = json.loads((folder / "built.json").read_text())
    numbers = info["check"]
    check = {"prompts": len(numbers["prompts"]), "next_max_dp": numbers["max_dp_next"],
             "lens_max_dp": numbers["max_dp_lens"], "top1_agree": numbers["top1_equal"],
             "attention_max_d": numbers["max_d_attention"]}
    return folder, {"layers": info["layers"], "heads": info["heads"], "vocab": info["vocab"], "top": info["top"],
                    "weights": weights,
                    "max_tokens": min(MAX_TOKENS, info.get("max_tokens") or MAX_TOKENS), "built": built,
                    "check": check, "model": {"name": source.name, "revision": source.revision[:12]}}


def _prompts_digest(prompts: list[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(prompts)).encode()).hexdigest()


def _usable(prompts: list[str], loaded: models.LoadedModel) -> list[str]:
    """The course's prompts the page can run (at most MAX_TOKENS tokens), else export()'s own."""
    from lmreport.playground.export import DEFAULT_PROMPTS

    usable = [p for p in prompts if 0 < len(loaded.encode(p)) <= MAX_TOKENS]
    return usable or list(DEFAULT_PROMPTS)


def _export(source: models.ModelSource, runtime: models.Runtime, weights: str, folder: Path,
            prompts: list[str]) -> None:
    from lmreport.playground.export import export

    loaded = models.load(source, runtime)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".export-"))
    try:
        started = time.perf_counter()
        log.info("playground: exporting %s to ONNX (%s weights), once; this takes a minute or two", source.name,
                 weights)
        usable = _usable(prompts, loaded)
        info = export(loaded, staging, weights=weights, top=TOP, check_prompts=usable)
        info["checked_prompts"] = _prompts_digest(prompts)
        (staging / "export.json").write_text(json.dumps(info, indent=1))
        (staging / "built.json").write_text(json.dumps(_built_numbers(loaded, usable)))
        log.info("playground: exported and checked in %.0f s", time.perf_counter() - started)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_again(source: models.ModelSource, runtime: models.Runtime, folder: Path, info: dict[str, Any],
                 prompts: list[str]) -> None:
    from lmreport.playground.check import check

    loaded = models.load(source, runtime)
    usable = _usable(prompts, loaded)
    info["check"] = check(loaded, folder / "model.onnx", usable, info["weights"])
    info["checked_prompts"] = _prompts_digest(prompts)
    (folder / "built.json").write_text(json.dumps(_built_numbers(loaded, usable)))
    (folder / "export.json").write_text(json.dumps(info, indent=1))


def _built_numbers(loaded: models.LoadedModel, prompts: list[str]) -> dict[str, Any]:
    """The build's own next-token probabilities (PyTorch, float64 softmax, temperature 1) of each prompt's top
    tokens, by token id, with the prompt's ids (the page compares only when its tokenizer gives the same)."""
    import torch

    built = {}
    for prompt in prompts:
        forward = loaded.forward(prompt, set())
        probs = torch.softmax(forward.logits[-1].double(), -1)
        top = probs.topk(BUILT_K)
        built[prompt] = {"ids": loaded.encode(prompt),
                         "next": {str(int(i)): float(p) for p, i in zip(top.values, top.indices, strict=True)}}
    return built
