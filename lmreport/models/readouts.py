"""Reading the residual stream through the final norm as a linear map, for direct attributions and the lens's
gain test."""

from __future__ import annotations

from typing import Any


def norm_parts(norm: Any) -> tuple[bool, float, Any, Any]:
    """The final norm's form: whether it centres the vector (LayerNorm) or not (RMS norms), its epsilon, its
    learned gain per coordinate (Gemma stores gain − 1) and its bias (0 when it has none), in float64 on the
    CPU. The direct attributions and the logit lens's gain test both read the norm through this."""
    import torch

    centres = isinstance(norm, torch.nn.LayerNorm)
    eps = getattr(norm, "eps", None) or getattr(norm, "variance_epsilon", None) or 1e-5
    gain = norm.weight.detach().double().cpu() + (1 if "Gemma" in type(norm).__name__ else 0)
    bias = getattr(norm, "bias", None)
    return centres, eps, gain, bias.detach().double().cpu() if bias is not None else 0


def frozen_norm(norm: Any, x: Any) -> Any:
    """The final norm as a linear map and its bias, its statistics taken from the residual x: v -> v divided by
    x's scale, times the norm's gain (LayerNorm also centres v). compute() checks it against the module on x."""
    import torch

    centres, eps, gain, bias = norm_parts(norm)
    x = x.double()
    if centres:
        sigma = torch.sqrt(x.var(unbiased=False) + eps)

        def apply(v: Any) -> Any:
            return (v.double() - v.double().mean(-1, keepdim=True)) / sigma * gain
    else:
        sigma = torch.sqrt((x**2).mean() + eps)

        def apply(v: Any) -> Any:
            return v.double() / sigma * gain
    return apply, bias
