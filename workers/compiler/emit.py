"""The C the compiler writes: constant arrays and parameter structs, pointers into the arena,
and the context an op handler works in (its tensors, their quantization, its refusals)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workers.compiler.checks import UnsupportedModelError, unsupported
from workers.compiler.planner import MemoryPlan
from workers.compiler.quantization import f32, quantize_multiplier
from workers.compiler.tflite_reader import ACTIVATIONS, Model, Operator, Tensor

# TFLite TensorType numbers the C API exposes.
C_TYPES = {0: "float", 2: "int32_t", 3: "uint8_t", 7: "int16_t", 9: "int8_t"}
TYPE_MACROS = {
    0: "TS_TYPE_FLOAT32",
    2: "TS_TYPE_INT32",
    3: "TS_TYPE_UINT8",
    7: "TS_TYPE_INT16",
    9: "TS_TYPE_INT8",
}
INT8 = 9
INT16 = 7
INT64 = 4
FLOAT32 = 0


def c_float(value: float) -> str:
    """A C float literal (hexadecimal) that holds the single-precision value exactly."""
    v = float(np.float32(value))
    if not np.isfinite(v):
        raise UnsupportedModelError(f"non-finite constant {v}")
    return "0.0f" if v == 0.0 else f"{v.hex()}f"


def comment_text(text: str, limit: int = 120) -> str:
    """Text safe inside a C comment: printable ASCII, no comment terminator, bounded length."""
    safe = "".join(c if 32 <= ord(c) < 127 else "?" for c in text).replace("*/", "* /")
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


# What each integer C type can hold: a constant outside it would not compile (or would wrap).
_INT_RANGES = {
    "int8_t": (-(2**7), 2**7 - 1),
    "uint8_t": (0, 2**8 - 1),
    "int16_t": (-(2**15), 2**15 - 1),
    "int32_t": (-(2**31), 2**31 - 1),
    "int64_t": (-(2**63), 2**63 - 1),
}


def check_range(name: str, ctype: str, values: np.ndarray) -> None:
    """UnsupportedModelError when a constant does not fit its C type, as when a damaged or odd
    model's quantization makes a bias plus its zero-point correction overflow int32."""
    low, high = _INT_RANGES[ctype]
    if not np.size(values):
        return
    smallest, largest = int(np.min(values)), int(np.max(values))
    if smallest < low or largest > high:
        bad = smallest if smallest < low else largest
        raise UnsupportedModelError(f"{name}: the value {bad} does not fit {ctype}")


def format_values(values: Sequence[str], per_line: int = 24) -> str:
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i : i + per_line]) + ",")
    return "\n".join(lines)


class Emitter:
    """Collects the const data and the invoke body of the generated model."""

    def __init__(self, model: Model, prefix: str, plan: MemoryPlan) -> None:
        self.model = model
        self.prefix = prefix
        self.plan = plan
        self.data: list[str] = []
        self.body: list[str] = []
        self.weights_bytes = 0
        self.macs = 0
        # The largest convolution window the kernels must gather (its filters are laid out
        # for it): the generated C refuses to build with a smaller TS_CONV_GATHER_BYTES.
        self.gathered_window = 0
        self._const_names: dict[int, str] = {}

    def const_array(self, name: str, ctype: str, values: np.ndarray) -> str:
        symbol = f"{self.prefix}_{name}"
        flat = np.asarray(values).reshape(-1)
        if ctype == "float":
            items = [c_float(v) for v in flat]
        elif ctype == "double":
            items = [float(v).hex() for v in flat]
        else:
            check_range(name, ctype, flat)
            items = [str(int(v)) for v in flat]
            # The smallest values have no literal of their type (the minus is an operator).
            if ctype == "int32_t":
                items = [v if int(v) != -(2**31) else "INT32_MIN" for v in items]
            if ctype == "int64_t":
                items = [v if int(v) != -(2**63) else "INT64_MIN" for v in items]
        if not items:
            items = ["0"]
        itemsize = {
            "int8_t": 1,
            "uint8_t": 1,
            "int16_t": 2,
            "int32_t": 4,
            "int64_t": 8,
            "float": 4,
            "double": 8,
        }[ctype]
        self.weights_bytes += len(items) * itemsize
        self.data.append(
            f"static const {ctype} {symbol}[{len(items)}] = {{\n{format_values(items)}\n}};\n"
        )
        return symbol

    def const_struct(self, name: str, ctype: str, fields: dict[str, Any]) -> str:
        symbol = f"{self.prefix}_{name}"
        parts = []
        for key, value in fields.items():
            check_range(f"{name}.{key}", "int32_t", np.asarray(value, dtype=object).reshape(-1))
            if isinstance(value, list | tuple):
                parts.append(f".{key} = {{{', '.join(str(int(v)) for v in value)}}}")
            else:
                parts.append(f".{key} = {int(value)}")
        self.data.append(
            f"static const {ctype} {symbol} = {{\n    " + ",\n    ".join(parts) + "\n};\n"
        )
        return symbol

    def tensor_ptr(self, index: int, ctype: str | None = None) -> str:
        tensor = self.model.tensors[index]
        ctype = ctype or C_TYPES.get(tensor.type_code, "int8_t")
        if tensor.is_constant:
            if index not in self._const_names:
                values = tensor.array()
                self._const_names[index] = self.const_array(
                    f"t{index}", C_TYPES[tensor.type_code], values
                )
            return f"({ctype} *){self._const_names[index]}"
        offset = self.plan.offsets[index]
        return f"({ctype} *)({self.prefix}_arena + {offset})"


def quant(t: Tensor) -> tuple[float, int]:
    if t.quantization is None:
        raise UnsupportedModelError(f"tensor {t.name!r} is not quantized")
    return t.quantization.scale, t.quantization.zero_point


def shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    dims = [1] * (4 - len(shape)) + list(shape)
    if len(dims) != 4:
        raise UnsupportedModelError(f"shape {shape} has more than 4 dimensions")
    return dims[0], dims[1], dims[2], dims[3]


def same_padding(in_size: int, out_size: int, k: int, stride: int, dilation: int) -> int:
    effective = (k - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + effective - in_size)
    return total // 2


def per_channel_multipliers(
    input_scale: float, filter_scales: np.ndarray, output_scale: float, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """PopulateConvolutionQuantizationParams: one multiplier and shift per output channel."""
    scales = np.asarray(filter_scales, dtype=np.float32)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    mults = np.zeros(channels, dtype=np.int64)
    shifts = np.zeros(channels, dtype=np.int64)
    for c in range(channels):
        effective = float(f32(input_scale)) * float(scales[c]) / float(f32(output_scale))
        mults[c], shifts[c] = quantize_multiplier(effective)
    return mults, shifts


class OpContext:
    """What an op handler needs: the model, the emitter and the op's tensors."""

    def __init__(self, em: Emitter, op: Operator) -> None:
        self.em = em
        self.op = op
        self.model = em.model

    def t(self, position: int) -> Tensor:
        return self.model.tensors[self.op.inputs[position]]

    def out(self, position: int = 0) -> Tensor:
        return self.model.tensors[self.op.outputs[position]]

    def has_input(self, position: int) -> bool:
        return position < len(self.op.inputs) and self.op.inputs[position] >= 0

    def name(self, suffix: str) -> str:
        return f"op{self.op.index}_{suffix}"

    def activation(self) -> str:
        code = int(self.op.options.get("fused_activation_function", 0))
        return ACTIVATIONS.get(code, f"ACTIVATION{code}")

    def fail(self, reason: str) -> UnsupportedModelError:
        return unsupported(self.model, self.op, reason)


def require_int8(ctx: OpContext, *tensors: Tensor) -> None:
    for t in tensors:
        if t.type_code != INT8:
            raise ctx.fail(f"tensor {t.name!r} has type {t.type_name}; only INT8 is supported")


def broadcast_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    rank = len(out_shape)
    dims = [1] * (rank - len(shape)) + list(shape)
    strides = [0] * rank
    step = 1
    for d in range(rank - 1, -1, -1):
        strides[d] = step if dims[d] != 1 else 0
        step *= dims[d]
    return strides
