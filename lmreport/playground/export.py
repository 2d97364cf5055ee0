"""Exporting a model for the in-browser playground: one self-contained ONNX file that gives the next token, the
logit lens and every attention weight for a prompt, checked against the model's own forward pass, with the
tokenizer and a description of both beside it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError
from lmreport.playground import TOOLS, graph
from lmreport.playground.check import TOLERANCES, check
from lmreport.playground.weights import WEIGHTS, store, strip_metadata
from lmreport.versions import package_versions

if TYPE_CHECKING:
    import onnx

    from lmreport.models.forward import LoadedModel

__all__ = ["DEFAULT_PROMPTS", "TOLERANCES", "WEIGHTS", "export"]


MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
DESCRIPTION_FILE = "export.json"


# One file, no external data, so that it can be split and joined again as it is: protobuf's own limit.
MAX_MODEL_BYTES = 2**31 - 1


DEFAULT_PROMPTS = (
    "The capital of France is",
    "Once upon a time, there was a little",
    "The opposite of hot is",
    "def fibonacci(n):\n    return",
    "1, 2, 3, 4, 5,",
)


def export(loaded: LoadedModel, folder: Path | str, weights: str = "fp16", top: int = 5,
           check_prompts: Sequence[str] = DEFAULT_PROMPTS) -> dict[str, Any]:
    """Export loaded's model into folder (model.onnx, tokenizer.json, export.json) with its weights stored as weights
    (fp32, fp16 or int8; compute is float32 in each), the lens keeping top tokens per cell; check it on
    check_prompts with onnxruntime and return what export.json holds. Raises LmreportError if the export does not
    give the model's answers within TOLERANCES[weights] (and then leaves no model.onnx behind)."""
    if weights not in WEIGHTS:
        raise LmreportError(f"weights '{weights}' is not one of {', '.join(WEIGHTS)}")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LmreportError(f"cannot write the playground's model into '{folder}': {e.strerror or e}") from None
    tokenizer = getattr(loaded.tokenizer, "backend_tokenizer", None)
    if tokenizer is None:
        raise LmreportError(f"{loaded.source.name} has no fast tokenizer (tokenizer.json) for the browser to read")
    module = graph.playground_module(loaded, top)

    started = time.perf_counter()
    proto = _exported(module, loaded)
    strip_metadata(proto)
    stored = store(proto, weights)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    path = folder / MODEL_FILE
    (folder / DESCRIPTION_FILE).unlink(missing_ok=True)  # a description always describes the model beside it
    _save(proto, path)
    del proto
    export_seconds = time.perf_counter() - started

    started = time.perf_counter()
    try:
        numbers = check(loaded, path, list(check_prompts), weights)
    except BaseException:
        path.unlink(missing_ok=True)  # a model that fails its check is not left for a site to serve
        raise
    check_seconds = time.perf_counter() - started

    tokenizer.save(str(folder / TOKENIZER_FILE))
    sizes = loaded.shape()
    description = {
        "model": loaded.source.name,
        "architecture": loaded.architecture,
        "files": {"model": MODEL_FILE, "tokenizer": TOKENIZER_FILE},
        "model_bytes": path.stat().st_size,
        "weights": weights,
        "stored": stored,
        "opset": opset,
        "inputs": {graph.INPUT: {"dtype": "int64", "shape": [1, "n"]}},
        "outputs": graph.output_shapes(sizes["layers"], sizes["heads"], sizes["vocab"], top),
        "layers": sizes["layers"],
        "heads": sizes["heads"],
        "vocab": sizes["vocab"],
        "top": top,
        "max_tokens": graph.max_tokens(loaded),
        "runtime": {"threads": 1, "graph_optimization": "basic"},
        "export_seconds": round(export_seconds, 2),
        "check_seconds": round(check_seconds, 2),
        "tolerances": TOLERANCES[weights],
        "check": numbers,
        "versions": package_versions(TOOLS),
    }
    (folder / DESCRIPTION_FILE).write_text(json.dumps(description, indent=1), encoding="utf-8")
    return description


def _exported(module: Any, loaded: LoadedModel) -> onnx.ModelProto:
    """The dynamo exporter's graph of module, the prompt's length left free."""
    import torch

    length = torch.export.Dim("n", min=1, max=graph.max_tokens(loaded))
    try:
        program = torch.onnx.export(module, (graph.example_input(loaded),), dynamo=True, external_data=False,
                                    input_names=[graph.INPUT], output_names=list(graph.OUTPUTS),
                                    dynamic_shapes={graph.INPUT: {1: length}}, verbose=False)
    except Exception as e:  # the exporter raises many kinds for a graph it cannot translate
        raise LmreportError(f"cannot export {loaded.source.name} ({loaded.architecture}) to ONNX: "
                            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    return program.model_proto


def _save(proto: onnx.ModelProto, path: Path) -> None:
    import onnx

    size = proto.ByteSize()
    if size > MAX_MODEL_BYTES:
        raise LmreportError(f"the playground's model would be {size / 2**30:.2f} GiB, over the 2 GiB of one ONNX file;"
                            " store its weights as fp16 or int8")
    onnx.save_model(proto, str(path))

