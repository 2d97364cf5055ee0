"""Which kernel multiplies a float32 linear layer on the CPU in lmreport's own passes without gradients.

torch runs a float32 nn.Linear on the CPU through its BLAS (MKL in the PyPI wheels). On the project's machine, an
AMD EPYC with AVX-512, MKL's sgemm reaches a third to a half of what the core can do: 26 GFLOP/s with 5 rows
against 576 x 46,080, 64 with 20 rows. oneDNN, which the same torch ships and which its compiler uses on CPUs
(torch.ops.mkldnn._linear_pointwise), multiplies the same float32 weights, as they are (nothing copied or repacked),
in 0.5-0.7 of MKL's time at every size lmreport runs, from 1 row (generation) to 2,048 (`bench/kernels.py` prints
both on the embedded model). The sums are float32 either way; only their order differs, so a result differs from
MKL's by float32 rounding (|Δ| ≤ 3e-6 of the largest logit on the embedded model, bench/kernels.py).

`fast_linears(model)` routes the model's float32 CPU nn.Linear layers to oneDNN for the duration of a `with`
block: the build and analyze() run each analysis in one. A call that records a gradient (integrated gradients,
saliency: the input or a weight requires one and grad mode is on) runs torch's own linear, so gradients are as
before, and so does anything outside the block: the model object a user holds is unchanged. Off where torch lacks
oneDNN or the check below fails, or with LMREPORT_LINEAR=torch in the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

ENV = "LMREPORT_LINEAR"  # "torch": always torch's own linear (for comparing, or a torch whose oneDNN misbehaves)


@cache
def onednn_works() -> bool:
    """Whether this torch has oneDNN's linear and it gives torch's numbers (checked once, on random float32 data
    with a bias and a 3-D input, against float64)."""
    import torch

    if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
        return False
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 96, generator=generator)
    weight, bias = torch.randn(40, 96, generator=generator), torch.randn(40, generator=generator)
    try:
        got = _onednn(x, weight, bias)
    except RuntimeError:
        return False
    want = torch.nn.functional.linear(x.double(), weight.double(), bias.double())
    return got.shape == want.shape and got.dtype == torch.float32 and bool(
        torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5))


def asked() -> str:
    """The linear the environment asks for: "torch", or "onednn" (used where torch has a working one). Part of a
    result's cache key, so a result computed with one is not served when the other is asked for; read without
    importing torch."""
    return "torch" if os.environ.get(ENV, "").strip().lower() == "torch" else "onednn"


def enabled() -> bool:
    return asked() == "onednn" and onednn_works()


def _onednn(x: Any, weight: Any, bias: Any) -> Any:
    import torch

    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def _routable(module: Any) -> bool:
    import torch

    if type(module) is not torch.nn.Linear or "forward" in module.__dict__:  # another class, or wrapped (accelerate)
        return False
    weight = module.weight
    return (weight.dtype == torch.float32 and weight.device.type == "cpu" and weight.layout == torch.strided
            and weight.dim() == 2 and weight.is_contiguous())


def _linear(module: Any) -> Any:
    import torch

    def forward(x: Any) -> Any:
        if (torch.is_grad_enabled() and (x.requires_grad or module.weight.requires_grad)) \
                or x.dtype != torch.float32 or x.device.type != "cpu" or x.numel() == 0:
            return torch.nn.functional.linear(x, module.weight, module.bias)
        return _onednn(x, module.weight, module.bias)

    return forward


@contextmanager
def fast_linears(model: Any) -> Iterator[int]:
    """Within the block, the model's float32 CPU nn.Linear layers multiply with oneDNN where no gradient is
    recorded (see the module's docstring); yields how many layers were routed (0 where it is off). Blocks nest:
    an inner one leaves the outer one's layers alone."""
    routed = [m for m in model.modules() if _routable(m)] if enabled() else []
    for module in routed:
        module.forward = _linear(module)
    try:
        yield len(routed)
    finally:
        for module in routed:
            module.__dict__.pop("forward", None)
