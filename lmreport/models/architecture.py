"""Finding the parts of a transformer by role (layers, final norm, MLP output), across GPT-2, Llama and BERT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LAYER_PATHS = ("layers", "h", "encoder.layer", "decoder.layers", "blocks")


FINAL_NORM_PATHS = ("norm", "ln_f", "final_layer_norm", "final_layernorm", "final_norm", "decoder.final_layer_norm")


# The module whose input is the MLP's neuron activations (after the nonlinearity, before projecting back).
# The module that projects the heads' outputs back into the residual stream; its input is the heads' outputs
# side by side (head h's in columns h·d_head to (h+1)·d_head).
ATTENTION_OUT_PATHS = ("self_attn.o_proj", "attn.c_proj", "attention.dense", "self_attn.dense", "self_attn.out_proj")


_MLP_OUT_PATHS = ("mlp.down_proj", "mlp.c_proj", "mlp.fc2", "mlp.dense_4h_to_h", "output.dense", "fc2")


# The module whose output holds each token's attention values (per key/value head, side by side), and which
# part of its output they are: a separate value projection, or the last third of GPT-2's fused q|k|v.
VALUE_PATHS = (("self_attn.v_proj", 1), ("attn.c_attn", 3))


def _get(module: Any, path: str) -> Any:
    for part in path.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def decoder_layers(model: Any) -> list[Any]:
    """The transformer blocks, in order."""
    base = model.base_model
    for path in LAYER_PATHS:
        layers = _get(base, path)
        if layers is not None:
            return list(layers)
    return []


def final_norm(model: Any) -> Any | None:
    """The norm applied to the residual stream before the unembedding, if the model has one."""
    base = model.base_model
    for path in FINAL_NORM_PATHS:
        module = _get(base, path)
        if module is not None and callable(module):
            return module
    return None


def _first(module: Any, paths: tuple[str, ...]) -> Any | None:
    return next((found for found in (_get(module, path) for path in paths) if found is not None), None)


def mlp_output(layer: Any) -> Any | None:
    return _first(layer, _MLP_OUT_PATHS)


def attention_output(layer: Any) -> Any | None:
    return _first(layer, ATTENTION_OUT_PATHS)


def attention_values(layer: Any) -> tuple[Any, int] | None:
    """The module whose output ends with the values, and into how many equal parts (q|k|v) that output splits."""
    return next(((found, parts) for found, parts in ((_get(layer, path), parts) for path, parts in VALUE_PATHS)
                 if found is not None), None)


def projection_weight(module: Any) -> Any:
    """A projection's weight as [in, out], whatever its storage (Linear or GPT-2's Conv1D): an MLP's output projection
    as [d_ff, d_model], an attention output projection as [heads × d_head, d_model]."""
    import torch

    if isinstance(module, torch.nn.Linear):
        return module.weight.T
    return module.weight  # transformers' Conv1D stores [in, out]


@contextmanager
def capture_outputs(modules: dict[Any, Any]) -> Iterator[dict[Any, Any]]:
    """Record the output of each module during a forward pass (the first, if it returns several); the hooks are
    always removed."""
    with _capture(modules, outputs=True) as captured:
        yield captured


@contextmanager
def capture_inputs(modules: dict[Any, Any]) -> Iterator[dict[Any, Any]]:
    """Record the first input of each module during a forward pass; the hooks are always removed."""
    with _capture(modules, outputs=False) as captured:
        yield captured


@contextmanager
def _capture(modules: dict[Any, Any], outputs: bool) -> Iterator[dict[Any, Any]]:
    captured: dict[Any, Any] = {}
    handles = []
    try:
        for key, module in modules.items():
            if outputs:
                def after(_module: Any, _args: tuple, output: Any, key: Any = key) -> None:
                    captured[key] = (output[0] if isinstance(output, tuple) else output).detach()

                handles.append(module.register_forward_hook(after))
            else:
                def before(_module: Any, args: tuple, key: Any = key) -> None:
                    captured[key] = args[0].detach()

                handles.append(module.register_forward_pre_hook(before))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
