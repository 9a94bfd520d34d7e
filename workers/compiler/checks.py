"""Checks that a model's parts agree before code is generated for it: the reader's (indices,
shapes, data sizes, quantization) and the operators' (every output shaped as LiteRT would shape
it). A damaged or hand-edited file is refused by name here instead of compiling to C that
computes something else."""

from __future__ import annotations

import numpy as np

from workers.compiler.tflite_reader import TENSOR_TYPES, Model, Operator, TfliteFormatError

# Larger tensors than any microcontroller model has: a shape beyond it is a corrupt file.
MAX_TENSOR_ELEMENTS = 1 << 28


class UnsupportedModelError(ValueError):
    """The model uses an operator, type or option the compiler does not handle."""


def unsupported(model: Model, op: Operator, reason: str) -> UnsupportedModelError:
    """The error refusing `op`, named with its index, kind and layer."""
    outputs = [model.tensors[i].name for i in op.outputs if i >= 0]
    layer = outputs[0] if outputs else "?"
    return UnsupportedModelError(f"operator {op.index} {op.opcode} (layer {layer!r}): {reason}")


def check_model(model: Model) -> None:
    """Raises TfliteFormatError when the model's parts disagree: indices out of range, negative
    or huge dimensions, constant data of the wrong size, quantization of the wrong length."""
    count = len(model.tensors)
    for tensor in model.tensors:
        if any(d < 0 for d in tensor.shape):
            raise TfliteFormatError(f"tensor {tensor.name!r} has shape {tensor.shape}")
        elements = int(np.prod(tensor.shape, dtype=np.float64)) if tensor.shape else 1
        if elements > MAX_TENSOR_ELEMENTS:
            raise TfliteFormatError(
                f"tensor {tensor.name!r} has {elements:,} elements (shape {tensor.shape}), more "
                f"than {MAX_TENSOR_ELEMENTS:,}"
            )
        known = TENSOR_TYPES.get(tensor.type_code, ("", None))[1]
        if tensor.data is not None and known is not None:
            expected = elements * known.itemsize
            if len(tensor.data) != expected:
                raise TfliteFormatError(
                    f"tensor {tensor.name!r} holds {len(tensor.data)} bytes of data, its shape "
                    f"{tensor.shape} of {tensor.type_name} needs {expected}"
                )
        quant = tensor.quantization
        if quant is not None:
            if quant.zero_points.size != quant.scales.size:
                raise TfliteFormatError(
                    f"tensor {tensor.name!r} has {quant.scales.size} scales but "
                    f"{quant.zero_points.size} zero points"
                )
            if quant.scales.size > 1 and not (
                0 <= quant.quantized_dimension < len(tensor.shape)
                and tensor.shape[quant.quantized_dimension] == quant.scales.size
            ):
                raise TfliteFormatError(
                    f"tensor {tensor.name!r} has {quant.scales.size} scales along dimension "
                    f"{quant.quantized_dimension} of shape {tensor.shape}"
                )
    for op in model.operators:
        for role, indices in (("input", op.inputs), ("output", op.outputs)):
            for i in indices:
                # -1 marks an optional input left out (e.g. a convolution without bias).
                if not (0 <= i < count or (i == -1 and role == "input")):
                    raise TfliteFormatError(
                        f"operator {op.index} {op.opcode}: {role} tensor {i} of {count}"
                    )
        if not op.outputs:
            raise TfliteFormatError(f"operator {op.index} {op.opcode} has no output")
    for role, indices in (("input", model.inputs), ("output", model.outputs)):
        if not indices:
            raise TfliteFormatError(f"the model has no {role}")
        for i in indices:
            if not 0 <= i < count:
                raise TfliteFormatError(f"model {role} tensor {i} of {count}")


# Ops whose output has their first input's shape, and ops that only view their input anew.
SAME_SHAPE_OPS = {"SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "QUANTIZE",
                  "DEQUANTIZE"}  # fmt: skip
VIEW_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}


def check_output_shape(model: Model, op: Operator) -> None:
    """Refuses an output shape other than the one LiteRT gives the operator (it resizes outputs
        to its own; the C would follow the file's): element-wise ops keep their input's shape, views
        their element count, fully connected layers give batch x units (or, with keep_num_dims, the
    input's shape with units last), ADD the broadcast shape.
        Sliding windows are checked by their handlers."""
    if not op.inputs or op.inputs[0] < 0:
        return
    x, y = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
    expected: tuple[int, ...] | None = None
    if op.opcode in SAME_SHAPE_OPS:
        expected = x.shape
    elif op.opcode in VIEW_OPS:
        if x.elements != y.elements:
            raise unsupported(model, op, f"output {y.shape} does not hold input {x.shape}")
    elif op.opcode == "FULLY_CONNECTED" and len(op.inputs) > 1:
        units = model.tensors[op.inputs[1]].shape[0]
        depth = model.tensors[op.inputs[1]].shape[-1]
        if x.elements % max(depth, 1) or y.elements != x.elements // max(depth, 1) * units:
            raise unsupported(
                model, op, f"output {y.shape} disagrees with input {x.shape} and {units} units"
            )
        # keep_num_dims keeps the input's leading dimensions, else the output is batch x units.
        if op.options.get("keep_num_dims"):
            if x.shape[-1:] != (depth,):
                raise unsupported(
                    model, op, f"input {x.shape} does not end in the weights' depth {depth}"
                )
            expected = (*x.shape[:-1], units)
        else:
            expected = (x.elements // max(depth, 1), units)
    elif op.opcode == "ADD" and len(op.inputs) == 2:
        try:
            expected = tuple(np.broadcast_shapes(x.shape, model.tensors[op.inputs[1]].shape))
        except ValueError:
            raise unsupported(model, op, "its inputs' shapes do not broadcast") from None
    if expected is not None and tuple(expected) != tuple(y.shape):
        raise unsupported(model, op, f"output {y.shape} disagrees with the expected {expected}")


def check_window_output(
    model: Model, op: Operator, inside: tuple[int, int], out: tuple[int, int],
    kernel: tuple[int, int], strides: tuple[int, int], dilations: tuple[int, int], padding: str,
) -> None:  # fmt: skip
    """Refuses an output shape other than the one LiteRT computes for a sliding window (it
    resizes the output to its own; the C would compute the stated one)."""
    if padding not in ("SAME", "VALID"):
        return  # refused by the operator's own check
    if min(*strides, *dilations, *kernel) < 1:
        raise unsupported(
            model, op, f"kernel {kernel}, strides {strides} and dilations {dilations} must be >= 1"
        )
    expected = tuple(
        -(-size // stride) if padding == "SAME" else -(-(size - (k - 1) * d) // stride)
        for size, k, stride, d in zip(inside, kernel, strides, dilations, strict=True)
    )
    if expected != out:
        raise unsupported(
            model,
            op,
            f"output {out[0]}x{out[1]} disagrees with the {expected[0]}x{expected[1]} its input "
            f"{inside[0]}x{inside[1]}, kernel, strides and {padding} padding give",
        )
