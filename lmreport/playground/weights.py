"""How the exported graph stores its weights: float32 as exported, float16 cast back to float32 in the graph, or
8-bit integers in blocks dequantised in the graph. Compute stays float32 in every format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmreport.errors import LmreportError

if TYPE_CHECKING:
    import numpy as np
    import onnx


WEIGHTS = ("fp32", "fp16", "int8")


# A matrix smaller than this stays float16 in the int8 format: its scales would save little.
INT8_MIN_ELEMENTS = 1024


# Entries sharing one int8 scale, along the axis a product sums over. On SmolLM2, against one scale per output
# channel (576 or 1536 entries): 176 MB instead of 164, and the logit lens's top token the same in 98% of the
# cells instead of 95% (its largest change of probability 0.09 instead of 0.18).
INT8_BLOCK = 32


# DequantizeLinear takes block_size from this opset on (from the exporter's opset 20, 21 only adds types).
BLOCKED_OPSET = 21


def store(model: onnx.ModelProto, weights: str) -> dict[str, int]:
    """Rewrite model's weight matrices in place into the format named (one of WEIGHTS); the count of tensors per
    storage. Vectors (norm gains, biases) and scalars stay float32: they are small and the norms are sensitive."""
    if weights not in WEIGHTS:
        raise LmreportError(f"weights '{weights}' is not one of {', '.join(WEIGHTS)}")
    counts = {"float32": 0, "float16": 0, "int8": 0}
    if weights == "fp32":
        return counts
    from onnx import TensorProto

    uses = _uses(model.graph)
    kept, casts = [], []
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT or len(tensor.dims) < 2:
            kept.append(tensor)
            continue
        axis = _channel_axis(tensor, uses.get(tensor.name, [])) if weights == "int8" else None
        stored = _as_int8(tensor, axis) if axis is not None else _as_float16(tensor)
        if stored is None:  # float16 would overflow: kept as it is
            kept.append(tensor)
            counts["float32"] += 1
            continue
        new_tensors, node = stored
        kept += new_tensors
        casts.append(node)
        counts["int8" if axis is not None else "float16"] += 1
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    if counts["int8"]:
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = max(opset.version, BLOCKED_OPSET)
    # The nodes that turn the stored tensors back into float32 come first: the graph stays in topological order.
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return counts


def _uses(graph: onnx.GraphProto) -> dict[str, list[tuple[Any, int]]]:
    """Each value name -> the (node, input index) pairs that read it."""
    uses: dict[str, list[tuple[Any, int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            uses.setdefault(name, []).append((node, index))
    return uses


def _channel_axis(tensor: onnx.TensorProto, uses: list[tuple[Any, int]]) -> int | None:
    """The axis of a matrix's output channels when every use of it is as the weight of a matrix product (MatMul
    [in, out], Gemm [in, out] or, transposed, [out, in]); None for anything else (the embedding table, which a
    Gather reads, stays float16)."""
    from onnx import helper

    if len(tensor.dims) != 2 or tensor.dims[0] * tensor.dims[1] < INT8_MIN_ELEMENTS or not uses:
        return None
    axes = set()
    for node, index in uses:
        if index != 1 or node.op_type not in ("MatMul", "Gemm"):
            return None
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        axes.add(0 if node.op_type == "Gemm" and attributes.get("transB", 0) else 1)
    return axes.pop() if len(axes) == 1 else None


def _as_float16(tensor: onnx.TensorProto) -> tuple[list[onnx.TensorProto], onnx.NodeProto] | None:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    values = numpy_helper.to_array(tensor)
    half = values.astype(np.float16)
    if not np.isfinite(half).all():
        return None
    stored = numpy_helper.from_array(half, f"{tensor.name}.float16")
    cast = helper.make_node("Cast", [stored.name], [tensor.name], to=TensorProto.FLOAT,
                            name=f"{tensor.name}.to_float32")
    return [stored], cast


def _as_int8(tensor: onnx.TensorProto, axis: int) -> tuple[list[onnx.TensorProto], onnx.NodeProto]:
    """Symmetric 8-bit integers, one scale per INT8_BLOCK inputs of each output channel (the largest magnitude of
    a block maps to 127), dequantised by DequantizeLinear's blocked form (opset 21)."""
    from onnx import helper, numpy_helper

    values = numpy_helper.to_array(tensor)
    inputs = 1 - axis  # the axis a matrix product sums over
    quantised, scale = quantise(values, inputs, INT8_BLOCK)
    stored = numpy_helper.from_array(quantised, f"{tensor.name}.int8")
    scales = numpy_helper.from_array(scale, f"{tensor.name}.scale")
    dequantise = helper.make_node("DequantizeLinear", [stored.name, scales.name], [tensor.name], axis=inputs,
                                  block_size=INT8_BLOCK, name=f"{tensor.name}.dequantise")
    return [stored, scales], dequantise


def quantise(values: np.ndarray, axis: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """A matrix as int8 values and float32 scales, one per block of `block` entries along axis (the last block
    may be shorter): values ≈ int8 · scale, the scale repeated over its block."""
    import numpy as np

    moved = np.moveaxis(values, axis, 0)  # [blocked, other]
    n = moved.shape[0]
    blocks = -(-n // block)
    padded = np.zeros((blocks * block, moved.shape[1]), dtype=np.float32)
    padded[:n] = moved
    grouped = padded.reshape(blocks, block, -1)
    largest = np.abs(grouped).max(axis=1)  # [blocks, other]
    scale = np.where(largest > 0, largest / 127, 1).astype(np.float32)
    quantised = np.clip(np.rint(grouped / scale[:, None, :]), -127, 127).astype(np.int8).reshape(blocks * block, -1)
    return np.moveaxis(quantised[:n], 0, axis).copy(), np.moveaxis(scale, 0, axis).copy()


def strip_metadata(model: onnx.ModelProto) -> None:
    """Drop what the exporter notes for debugging on every node and value (torch's stack traces, with this machine's
    paths): most of a small model's file, and nothing a site should publish."""
    graph = model.graph
    for item in (*graph.node, *graph.value_info, *graph.input, *graph.output, *graph.initializer):
        del item.metadata_props[:]
        item.doc_string = ""
    del graph.metadata_props[:]
    graph.doc_string = ""
