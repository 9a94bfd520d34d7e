"""The operators the compiler takes: a handler per operator (and one per operator with int16
activations) and the memory reuse each kernel allows, in one place that the code generator, the
API's list and the README's table (readme_table.py) all read."""

from __future__ import annotations

from collections.abc import Callable

from workers.compiler.checks import unsupported
from workers.compiler.emit import INT16, OpContext
from workers.compiler.fold import FOLDED_OPS
from workers.compiler.ops_conv import conv2d, depthwise, fully_connected, pool, transpose_conv
from workers.compiler.ops_data import concatenation, mean, pad, resize, split, transpose, view
from workers.compiler.ops_int16 import (
    add_sub16,
    conv2d16,
    depthwise16,
    dequantize16,
    fully_connected16,
    pool16,
    quantize16,
    softmax16,
)
from workers.compiler.ops_math import (
    BINARY_OPS,
    binary,
    dequantize,
    quantize,
    relu,
    softmax,
    table_op,
)
from workers.compiler.ops_matmul import batch_matmul
from workers.compiler.tflite_reader import Model, Operator

OpHandler = Callable[[OpContext], None]
HANDLERS: dict[str, OpHandler] = {
    "CONV_2D": conv2d,
    "DEPTHWISE_CONV_2D": depthwise,
    "FULLY_CONNECTED": fully_connected,
    "BATCH_MATMUL": batch_matmul,
    "AVERAGE_POOL_2D": lambda ctx: pool(ctx, "avg"),
    "MAX_POOL_2D": lambda ctx: pool(ctx, "max"),
    **dict.fromkeys(BINARY_OPS, binary),
    "SOFTMAX": softmax,
    "LOGISTIC": table_op,
    "TANH": table_op,
    "LEAKY_RELU": table_op,
    "HARD_SWISH": table_op,
    "RELU": lambda ctx: relu(ctx, "RELU"),
    "RELU6": lambda ctx: relu(ctx, "RELU6"),
    "RELU_N1_TO_1": lambda ctx: relu(ctx, "RELU_N1_TO_1"),
    "RESHAPE": view,
    "SQUEEZE": view,
    "EXPAND_DIMS": view,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
    "PAD": pad,
    "PADV2": pad,
    "CONCATENATION": concatenation,
    "TRANSPOSE": transpose,
    "TRANSPOSE_CONV": transpose_conv,
    "RESIZE_NEAREST_NEIGHBOR": resize,
    "RESIZE_BILINEAR": resize,
    "SPLIT": split,
    "SPLIT_V": split,
    "MEAN": mean,
}

# Handlers of operators any of whose tensors is int16 (16x8: int16 activations, int8 weights);
# views and copies move bytes whatever their type.
INT16_HANDLERS: dict[str, OpHandler] = {
    "CONV_2D": conv2d16,
    "DEPTHWISE_CONV_2D": depthwise16,
    "FULLY_CONNECTED": fully_connected16,
    "AVERAGE_POOL_2D": lambda ctx: pool16(ctx, "avg"),
    "MAX_POOL_2D": lambda ctx: pool16(ctx, "max"),
    "ADD": add_sub16,
    "SUB": add_sub16,
    "SOFTMAX": softmax16,
    "MEAN": mean,
    "QUANTIZE": quantize16,
    "DEQUANTIZE": dequantize16,
    "RESHAPE": view,
    "SQUEEZE": view,
    "EXPAND_DIMS": view,
    "CONCATENATION": concatenation,
    "SPLIT": split,
    "SPLIT_V": split,
}


# Ops whose kernel reads element i before writing element i (output may overwrite an input).
IN_PLACE_OPS: dict[str, tuple[int, ...]] = {
    "LEAKY_RELU": (0,),
    "HARD_SWISH": (0,),
    **dict.fromkeys(BINARY_OPS, (0, 1)),
    "LOGISTIC": (0,),
    "TANH": (0,),
    "RELU": (0,),
    "RELU6": (0,),
    "RELU_N1_TO_1": (0,),
    "SOFTMAX": (0,),
}


# Ops whose kernel writes output rows in order and reads only input rows at or below the
# current window: the output may overlap the rows of a dying input already consumed.
ROW_BY_ROW_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"}


def supported_ops() -> list[str]:
    """The operators the compiler generates code for, plus those it folds away, sorted."""
    return sorted({*HANDLERS, *FOLDED_OPS})


def handler_for(model: Model, op: Operator) -> OpHandler:
    """The handler of `op`: by its operator and, where one of its tensors is int16, the int16
    one. Raises `UnsupportedModelError` naming the operator (and the tensor's type) otherwise."""
    if op.opcode not in HANDLERS:
        raise unsupported(
            model,
            op,
            "operator is not supported (the compiler takes "
            f"{', '.join(supported_ops())}; see workers/compiler/README.md)",
        )
    wide = [
        model.tensors[i]
        for i in (*op.inputs, *op.outputs)
        if i >= 0 and model.tensors[i].type_code == INT16
    ]
    if not wide:
        return HANDLERS[op.opcode]
    if op.opcode not in INT16_HANDLERS:
        raise unsupported(
            model,
            op,
            f"tensor {wide[0].name!r} has type INT16, and {op.opcode} is compiled for INT8 only "
            f"(int16 activations: {', '.join(sorted(INT16_HANDLERS))})",
        )
    return INT16_HANDLERS[op.opcode]
