"""What a model is: its inputs and outputs, its operators (each marked supported or not, with
the layer it computes), its parameters and MACs, and, when the compiler takes it, its arena."""

from __future__ import annotations

from typing import Any

from workers.compiler.checks import UnsupportedModelError
from workers.compiler.codegen import generate
from workers.compiler.fold import FOLDED_OPS
from workers.compiler.op_table import handler_for, supported_ops
from workers.compiler.tflite_reader import (
    Model,
    Operator,
    Tensor,
    TfliteFormatError,
    read_model,
)

# Operators whose constant inputs are trained parameters (weights, biases, slopes); the other
# constants (shapes, paddings, axes) are not counted.
_PARAMETER_OPS = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "PRELU",
    "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM",
}  # fmt: skip
FLOAT_TYPES = ("FLOAT32", "FLOAT16")


def _tensor(tensor: Tensor) -> dict[str, Any]:
    quant = tensor.quantization
    single = quant is not None and len(quant.scales) == 1
    return {
        "name": tensor.name,
        "shape": list(tensor.shape),
        "type": tensor.type_name.lower(),
        "scale": float(quant.scales[0]) if single and quant is not None else None,
        "zero_point": int(quant.zero_points[0]) if single and quant is not None else None,
    }


def _layer(model: Model, outputs: list[int]) -> str:
    names = [model.tensors[i].name for i in outputs if 0 <= i < len(model.tensors)]
    return names[0] if names else "?"


def _has_kernel(model: Model, op: Operator) -> bool:
    """Whether the compiler has a kernel for the op's tensor types (an int16 op may have none);
    ops it folds away have none and need none."""
    if op.opcode in FOLDED_OPS:
        return True
    try:
        handler_for(model, op)
    except UnsupportedModelError:
        return False
    return True


def is_float(model: Model) -> bool:
    """Whether the model computes in float (its inputs, outputs or weights are float)."""
    io = [model.tensors[i] for i in (*model.inputs, *model.outputs)]
    weights = [
        model.tensors[i]
        for op in model.operators
        if op.opcode in _PARAMETER_OPS
        for i in op.inputs[1:2]
        if i >= 0
    ]
    return any(t.type_name in FLOAT_TYPES for t in (*io, *weights))


def describe(tflite: bytes) -> dict[str, Any]:
    """The model's facts as JSON-ready data; TfliteFormatError for a file that is no model.

    `compiler` is {"supported": true, arena_bytes, lower_bound, weights_bytes, macs} when the
    compiler generates its C, else {"supported": false, "reason": ...} with the refusal."""
    model = read_model(tflite)
    known = set(supported_ops())
    parameters = 0
    for op in model.operators:
        if op.opcode in _PARAMETER_OPS:
            parameters += sum(
                model.tensors[i].elements
                for i in op.inputs[1:]
                if i >= 0 and model.tensors[i].is_constant
            )
    compiler: dict[str, Any]
    try:
        generated = generate(model, "ts_model")
        compiler = {
            "supported": True,
            "arena_bytes": generated.arena_bytes,
            "lower_bound": generated.lower_bound,
            "weights_bytes": generated.weights_bytes,
            "macs": generated.macs,
        }
    except (UnsupportedModelError, TfliteFormatError) as exc:
        compiler = {"supported": False, "reason": str(exc)}
    return {
        "inputs": [_tensor(model.tensors[i]) for i in model.inputs],
        "outputs": [_tensor(model.tensors[i]) for i in model.outputs],
        "operators": [
            {
                "index": op.index,
                "op": op.opcode,
                "layer": _layer(model, op.outputs),
                "supported": op.opcode in known and _has_kernel(model, op),
            }
            for op in model.operators
        ],
        "op_counts": {
            name: sum(1 for op in model.operators if op.opcode == name)
            for name in sorted({op.opcode for op in model.operators})
        },
        "parameters": int(parameters),
        "float": is_float(model),
        "tflite_bytes": len(tflite),
        "compiler": compiler,
    }
