"""Checking an exported playground graph against the model's own forward pass, as the browser will run it (one
thread, basic graph optimisation)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError

if TYPE_CHECKING:
    import numpy as np

    from lmreport.models.forward import LoadedModel


# What each weight format may change, in probability (softmax of the logits, 0..1): the next token's
# distribution ("next"), the lens's top cells ("lens"), an attention weight ("attention"; None: not held to one),
# and whether the top-1 next token must stay the same on every check prompt.
TOLERANCES: dict[str, dict[str, Any]] = {
    "fp32": {"next": 1e-4, "lens": 1e-4, "attention": 1e-4, "same_top1": True},
    "fp16": {"next": 5e-3, "lens": 2e-2, "attention": None, "same_top1": True},
    "int8": {"next": 0.1, "lens": 0.25, "attention": None, "same_top1": False},
}


def session(path: Path) -> Any:
    """An onnxruntime session set up as onnxruntime-web runs the playground: CPU, one thread, basic optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check(loaded: LoadedModel, path: Path, prompts: list[str], weights: str) -> dict[str, Any]:
    """Run the graph at path and the model on each prompt and compare: top-1 next token, the largest change of a
    next-token probability, of a lens cell's probability (for the token ids the graph gives) and of an attention
    weight. Raises LmreportError when a tolerance of TOLERANCES[weights] is broken."""
    if not prompts:
        raise LmreportError("the playground's export needs at least one check prompt")
    runner = session(path)
    per_prompt = []
    for prompt in prompts:
        ids = loaded.encode(prompt)
        started = time.perf_counter()
        logits, lens_probs, lens_ids, attentions = runner.run(None, {"input_ids": _ids(ids)})
        seconds = time.perf_counter() - started
        per_prompt.append({"prompt": prompt, "input_ids": ids, "onnx_seconds": round(seconds, 4),
                           **_compare(loaded, prompt, ids, logits, lens_probs, lens_ids, attentions)})
    numbers = {
        "prompts": per_prompt,
        "top1_equal": sum(p["top1_equal"] for p in per_prompt),
        "max_dp_next": max(p["max_dp_next"] for p in per_prompt),
        "max_dp_lens": max(p["max_dp_lens"] for p in per_prompt),
        "max_d_attention": max(p["max_d_attention"] for p in per_prompt),
        "lens_top1_agreement": min(p["lens_top1_agreement"] for p in per_prompt),
    }
    _within(numbers, weights, len(prompts))
    return numbers


def _ids(ids: list[int]) -> np.ndarray:
    import numpy as np

    return np.array([ids], dtype=np.int64)


def _compare(loaded: LoadedModel, prompt: str, ids: list[int], logits: np.ndarray, lens_probs: np.ndarray,
             lens_ids: np.ndarray, attentions: np.ndarray) -> dict[str, Any]:
    import torch

    forward = loaded.run_ids(prompt, ids, {"hidden_states", "attentions"})
    reference = torch.softmax(forward.logits[-1].double(), dim=-1)
    probs = torch.softmax(torch.from_numpy(logits).double(), dim=-1)
    lens_reference, top1 = [], []
    for row, row_logits in zip(lens_ids, loaded.lens(forward), strict=True):  # as the logit-lens analysis reads it
        lens_reference.append(torch.softmax(row_logits.double(), dim=-1).gather(-1, torch.from_numpy(row)))
        top1.append(row_logits.argmax(-1))
    lens_reference, top1 = torch.stack(lens_reference), torch.stack(top1)
    return {
        "top1": int(probs.argmax()),
        "top1_equal": int(probs.argmax()) == int(reference.argmax()),
        "max_dp_next": float((probs - reference).abs().max()),
        "max_dp_lens": float((torch.from_numpy(lens_probs).double() - lens_reference).abs().max()),
        "lens_top1_agreement": float((torch.from_numpy(lens_ids[..., 0]) == top1).double().mean()),
        "max_d_attention": float((torch.from_numpy(attentions) - forward.attentions).abs().max()),
    }


def _within(numbers: dict[str, Any], weights: str, n_prompts: int) -> None:
    limits = TOLERANCES[weights]
    broken = []
    if limits["same_top1"] and numbers["top1_equal"] < n_prompts:
        broken.append(f"the top next token differs on {n_prompts - numbers['top1_equal']} of {n_prompts} prompts")
    for key, limit, what in (("max_dp_next", limits["next"], "a next-token probability"),
                             ("max_dp_lens", limits["lens"], "a logit-lens probability"),
                             ("max_d_attention", limits["attention"], "an attention weight")):
        if limit is not None and not numbers[key] <= limit:  # NaN breaks it too
            broken.append(f"{what} changes by {numbers[key]:.3g} (at most {limit:g} allowed)")
    if broken:
        raise LmreportError(f"the playground export in {weights} weights does not give the model's answers: "
                            + "; ".join(broken))
