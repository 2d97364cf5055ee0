"""The playground's files in a built site: onnxruntime-web (carried in runtime/, see tools/fetch_onnxruntime_web.py),
the exported model and the tokenizer as script files a file:// page can load, and the page's own scripts.

Everything goes into the site's playground/ folder; the page (playground.html at the site's top) reads a manifest:
the parts and their sizes, the model's sizes, the weight format and the measured difference from the build's own
numbers."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

RUNTIME = Path(__file__).parent / "runtime"
STATIC = Path(__file__).parent / "static"
FOLDER = "playground"
PART_BYTES = 64 * 2**20  # raw bytes per part: ~85 MiB as base64, under GitHub Pages' 100 MB per file
K = 10  # next tokens the page lists
GREEDY = 5  # tokens the page's greedy continuation adds
WEIGHT_TEXT = {
    "fp32": "float32, as the build computes",
    "fp16": "stored as float16 (half the download), computed in float32",
    "int8": "the large matrices stored as 8-bit integers with a scale per row (a third of the download), computed "
            "in float32",
}


def _assign(key: str, value: str) -> str:
    """A script that stores value (a JSON string) as window.lmreportPlayground[key]."""
    return f"(window.lmreportPlayground = window.lmreportPlayground || {{ parts: [] }}){key} = {value};\n"


def write_files(site_dir: Path, bundle: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """Write the playground's files into site_dir/playground; return the page's manifest."""
    target = site_dir / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RUNTIME / "ort.wasm.min.js", target / "ort.wasm.min.js")
    shutil.copyfile(RUNTIME / "LICENSE", target / "LICENSE-onnxruntime.txt")
    glue = (RUNTIME / "ort-wasm-simd-threaded.mjs").read_text(encoding="utf-8")
    (target / "ort-glue.js").write_text(_assign(".glue", json.dumps(glue)), encoding="utf-8")
    wasm = (RUNTIME / "ort-wasm-simd-threaded.wasm").read_bytes()
    (target / "ort-wasm.js").write_text(_assign(".wasm", f'"{base64.b64encode(wasm).decode()}"'), encoding="ascii")
    model = (bundle / "model.onnx").read_bytes()
    parts = []
    for number, start in enumerate(range(0, len(model), PART_BYTES)):
        chunk = model[start:start + PART_BYTES]
        name = f"model-{number + 1}.js"
        (target / name).write_text(_assign(f".parts[{number}]", f'"{base64.b64encode(chunk).decode()}"'),
                                   encoding="ascii")
        parts.append({"file": name, "bytes": len(chunk), "file_bytes": (target / name).stat().st_size})
    tokenizer = (bundle / "tokenizer.json").read_text(encoding="utf-8")
    # JSON text is a JavaScript expression; "</" cannot end a script here (a file, not inline), kept as it is.
    (target / "tokenizer-data.js").write_text(_assign(".tokenizer", tokenizer), encoding="utf-8")
    for name in ("tokenizer.js", "engine.js", "playground.js", "try-prompt.js"):
        shutil.copyfile(STATIC / name, target / name)
    for name, script in try_scripts().items():  # each analysis's drawing of the reader's prompt: try-topk.js...
        shutil.copyfile(script, target / name)
    digest = hashlib.sha256(model).hexdigest()[:16]
    # what a reader downloads: every file of the folder (the parts as base64 text, a third more than the bytes)
    download = sum(f.stat().st_size for f in target.iterdir())
    manifest = {
        "digest": digest, "parts": parts, "wasm": {"file": "ort-wasm.js", "bytes": len(wasm),
                                                 "file_bytes": (target / "ort-wasm.js").stat().st_size},
        "layers": summary["layers"], "heads": summary["heads"], "top": summary["top"], "k": K,
        "max_tokens": summary["max_tokens"], "built": summary["built"], "greedy": GREEDY,
        "download_mb": round(download / 1e6),
        "memory_gb": memory_estimate(len(model), summary["weights"], summary["layers"], summary["vocab"],
                                     summary["max_tokens"]),
        "weights": summary["weights"], "check": summary["check"], "model": summary["model"],
    }
    # for the lessons' pages, which load it when the reader first runs a prompt (the playground page carries its own)
    (target / "manifest.js").write_text(_assign(".manifest", json.dumps(manifest, ensure_ascii=False)),
                                        encoding="utf-8")
    return manifest


def try_scripts() -> dict[str, Path]:
    """playground/try-<name>.js -> the try.js of each analysis whose figures a reader can recompute in the page."""
    from lmreport import analyses
    from lmreport.analyses.try_prompt import SCRIPT

    return {f"try-{a.name}.js": a.folder / SCRIPT for a in analyses.REGISTRY.values() if a.try_prompt is not None}


def memory_estimate(model_bytes: int, weights: str, layers: int, vocab: int, max_tokens: int) -> float:
    """About how much memory the browser needs, in GB: the parts as script text and as the string they hold, the
    decoded bytes and the runtime's copy of them, the weights widened to float32 where they are stored narrower,
    the logit lens's softmax over the vocabulary at every layer and position of the longest prompt (with its
    copy), and the browser itself. Measured for SmolLM2 in fp16 in Chromium: 3.5 GB (bench/playground_page.py)."""
    widened = {"fp32": 0, "fp16": 2, "int8": 4}[weights]  # float32 copies made when the session folds casts
    lens = (layers + 1) * max_tokens * vocab * 4 * 2
    return round((model_bytes * (8 / 3 + 2 + widened) + lens + 0.7e9) / 1e9, 1)
