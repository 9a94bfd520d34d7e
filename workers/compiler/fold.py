"""Shape arithmetic folded away before code generation.

Keras layers that reshape with an open batch dimension (Flatten, Reshape of a model converted
without a fixed batch) compute the new shape at run time: SHAPE of the activation, a
STRIDED_SLICE taking its batch, a PACK of that batch with the flattened size, and a RESHAPE to
the packed shape. In a compiled model every shape is static, so these ops only ever compute the
same small vectors: they are evaluated here, their outputs become constants, and the RESHAPE
reads a constant shape like any other.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from workers.compiler.tflite_reader import Model, Operator, Tensor, TfliteFormatError

# Operators evaluated here when their inputs are known at compile time.
FOLDED_OPS = ("SHAPE", "STRIDED_SLICE", "PACK")


def fold_shape_ops(model: Model) -> Model:
    """`model` without the ops whose outputs are known at compile time (SHAPE of a static
    tensor; STRIDED_SLICE, PACK and CONCATENATION of constants), their outputs now constant.
    Ops that cannot be folded stay for the code generator to compile or refuse."""
    tensors = list(model.tensors)
    kept: list[Operator] = []
    for op in model.operators:
        value = None if set(op.outputs) & set(model.outputs) else _value(op, tensors)
        if value is None:
            kept.append(op)
            continue
        out = tensors[op.outputs[0]]
        if value.size != out.elements:
            raise TfliteFormatError(
                f"operator {op.index} {op.opcode} gives {value.size} values for its "
                f"{out.elements}-element output {out.name!r}"
            )
        tensors[out.index] = replace(out, data=value.astype(out.dtype.newbyteorder("<")).tobytes())
    if len(kept) == len(model.operators):
        return model
    return replace(model, tensors=tensors, operators=kept)


def _value(op: Operator, tensors: list[Tensor]) -> np.ndarray | None:
    """The output of `op` when it can be computed now, else None."""
    inputs = [tensors[i] for i in op.inputs if i >= 0]
    if op.opcode == "SHAPE":
        return np.asarray(inputs[0].shape, dtype=np.int64)
    if not inputs or not all(t.is_constant for t in inputs):
        return None
    arrays = [t.array() for t in inputs]
    if op.opcode == "STRIDED_SLICE":
        return _strided_slice(op, *arrays)
    if op.opcode == "PACK":
        return np.stack(arrays, axis=int(op.options.get("axis", 0)))
    if op.opcode == "CONCATENATION" and not op.options.get("fused_activation_function"):
        if any(t.quantization is not None and t.quantization.scales.size for t in inputs):
            return None  # quantized data: the kernel's requantization is not folded here
        return np.concatenate(arrays, axis=int(op.options.get("axis", 0)))
    return None


def _strided_slice(
    op: Operator, x: np.ndarray, begin: np.ndarray, end: np.ndarray, strides: np.ndarray
) -> np.ndarray | None:
    """TFLite's STRIDED_SLICE on a constant (no ellipsis or new axes: then None)."""
    options = op.options
    if options.get("ellipsis_mask") or options.get("new_axis_mask"):
        return None
    begin_mask = int(options.get("begin_mask", 0))
    end_mask = int(options.get("end_mask", 0))
    shrink = int(options.get("shrink_axis_mask", 0))
    offset = bool(options.get("offset", False))
    index: list[int | slice] = []
    for axis in range(begin.size):
        b, e, s = int(begin[axis]), int(end[axis]), int(strides[axis])
        if offset:
            e = b + e
        if shrink >> axis & 1:
            index.append(b)
            continue
        index.append(
            slice(None if begin_mask >> axis & 1 else b, None if end_mask >> axis & 1 else e, s)
        )
    return np.asarray(x[tuple(index)])
