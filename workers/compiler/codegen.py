"""Generates dependency-free C99 for an int8 TFLite model: const weights, one arena, op calls."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.compiler.checks import (
    VIEW_OPS,
    UnsupportedModelError,
    check_output_shape,
    check_window_output,
    unsupported,
)
from workers.compiler.fixedpoint import hard_swish_table, leaky_relu_table
from workers.compiler.fold import FOLDED_OPS, fold_shape_ops
from workers.compiler.planner import MemoryPlan, PlannedOp, Reuse, check_plan, plan_memory
from workers.compiler.quantization import (
    activation_range,
    activation_table,
    f32,
    quantize_multiplier,
    softmax_scaling,
)
from workers.compiler.tflite_reader import (
    ACTIVATIONS,
    PADDINGS,
    Model,
    Operator,
    Tensor,
    TfliteFormatError,
)

KERNEL_DIR = Path(__file__).parent / "kernels"
KERNEL_FILES = ("ts_kernels.c", "ts_kernels.h")

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
FLOAT32 = 0


@dataclass
class GeneratedModel:
    """The C sources of one compiled model and the figures that describe it."""

    files: dict[str, str]
    ops: list[str]
    arena_bytes: int
    lower_bound: int
    weights_bytes: int
    macs: int
    plan: MemoryPlan
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


def _c_float(value: float) -> str:
    """A C float literal (hexadecimal) that holds the single-precision value exactly."""
    v = float(np.float32(value))
    if not np.isfinite(v):
        raise UnsupportedModelError(f"non-finite constant {v}")
    return "0.0f" if v == 0.0 else f"{v.hex()}f"


def _comment_text(text: str, limit: int = 120) -> str:
    """Text safe inside a C comment: printable ASCII, no comment terminator, bounded length."""
    safe = "".join(c if 32 <= ord(c) < 127 else "?" for c in text).replace("*/", "* /")
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


# What each integer C type can hold: a constant outside it would not compile (or would wrap).
_INT_RANGES = {
    "int8_t": (-(2**7), 2**7 - 1),
    "uint8_t": (0, 2**8 - 1),
    "int16_t": (-(2**15), 2**15 - 1),
    "int32_t": (-(2**31), 2**31 - 1),
}


def _check_range(name: str, ctype: str, values: np.ndarray) -> None:
    """UnsupportedModelError when a constant does not fit its C type, as when a damaged or odd
    model's quantization makes a bias plus its zero-point correction overflow int32."""
    low, high = _INT_RANGES[ctype]
    if not np.size(values):
        return
    smallest, largest = int(np.min(values)), int(np.max(values))
    if smallest < low or largest > high:
        bad = smallest if smallest < low else largest
        raise UnsupportedModelError(f"{name}: the value {bad} does not fit {ctype}")


def _format_values(values: Sequence[str], per_line: int = 24) -> str:
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[i : i + per_line]) + ",")
    return "\n".join(lines)


class _Emitter:
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
            items = [_c_float(v) for v in flat]
        elif ctype == "double":
            items = [float(v).hex() for v in flat]
        else:
            _check_range(name, ctype, flat)
            items = [str(int(v)) for v in flat]
            if ctype == "int32_t":
                items = [v if int(v) != -(2**31) else "INT32_MIN" for v in items]
        if not items:
            items = ["0"]
        itemsize = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "float": 4, "double": 8}[
            ctype
        ]
        self.weights_bytes += len(items) * itemsize
        self.data.append(
            f"static const {ctype} {symbol}[{len(items)}] = {{\n{_format_values(items)}\n}};\n"
        )
        return symbol

    def const_struct(self, name: str, ctype: str, fields: dict[str, Any]) -> str:
        symbol = f"{self.prefix}_{name}"
        parts = []
        for key, value in fields.items():
            _check_range(f"{name}.{key}", "int32_t", np.asarray(value, dtype=object).reshape(-1))
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


def _quant(t: Tensor) -> tuple[float, int]:
    if t.quantization is None:
        raise UnsupportedModelError(f"tensor {t.name!r} is not quantized")
    return t.quantization.scale, t.quantization.zero_point


def _shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    dims = [1] * (4 - len(shape)) + list(shape)
    if len(dims) != 4:
        raise UnsupportedModelError(f"shape {shape} has more than 4 dimensions")
    return dims[0], dims[1], dims[2], dims[3]


def _same_padding(in_size: int, out_size: int, k: int, stride: int, dilation: int) -> int:
    effective = (k - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + effective - in_size)
    return total // 2


def _per_channel_multipliers(
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


class _Context:
    """What an op handler needs: the model, the emitter and the op's tensors."""

    def __init__(self, em: _Emitter, op: Operator) -> None:
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


def _require_int8(ctx: _Context, *tensors: Tensor) -> None:
    for t in tensors:
        if t.type_code != INT8:
            raise ctx.fail(f"tensor {t.name!r} has type {t.type_name}; only INT8 is supported")


def _conv_like(ctx: _Context, depthwise: bool) -> None:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    _require_int8(ctx, x, w, y)
    if not w.is_constant:
        raise ctx.fail("filter must be a constant tensor")
    n, ih, iw, ic = _shape4(x.shape)
    _, oh, ow, oc = _shape4(y.shape)
    weights = w.array().astype(np.int64)
    kh, kw = w.shape[1], w.shape[2]
    opts = ctx.op.options
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    dh, dw = int(opts["dilation_h_factor"]), int(opts["dilation_w_factor"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(
        ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (dh, dw), padding
    )
    if len(w.shape) != 4 or w.shape[3 if depthwise else 0] != oc or _shape4(y.shape)[0] != n:
        raise ctx.fail(f"filter {w.shape} and output {y.shape} disagree on the output channels")
    if padding == "SAME":
        pad_top = _same_padding(ih, oh, kh, sh, dh)
        pad_left = _same_padding(iw, ow, kw, sw, dw)
    elif padding == "VALID":
        pad_top = pad_left = 0
    else:
        raise ctx.fail(f"padding {padding} is not supported")
    in_scale, in_zp = _quant(x)
    out_scale, out_zp = _quant(y)
    assert w.quantization is not None
    if np.any(w.quantization.zero_points != 0):
        raise ctx.fail("filter zero points must be 0")
    mults, shifts = _per_channel_multipliers(in_scale, w.quantization.scales, out_scale, oc)
    bias = (
        ctx.t(2).array().astype(np.int64).reshape(-1)
        if ctx.has_input(2)
        else np.zeros(oc, dtype=np.int64)
    )
    if ctx.has_input(2) and ctx.t(2).type_code != 2:
        raise ctx.fail(f"bias type {ctx.t(2).type_name} is not supported (INT32 only)")
    if depthwise:
        filter_sums = weights.reshape(kh * kw, oc).sum(axis=0)
        groups = 1
        dm = int(opts["depth_multiplier"]) if opts.get("depth_multiplier") else oc // ic
        if dm * ic != oc:
            dm = oc // ic
    else:
        filter_sums = weights.reshape(oc, -1).sum(axis=1)
        filter_depth = w.shape[3]
        if ic % filter_depth:
            raise ctx.fail("input channels are not a multiple of the filter depth")
        groups = ic // filter_depth
        dm = 1
    bias_full = bias + (-in_zp) * filter_sums
    act_min, act_max = activation_range(ctx.activation(), out_scale, out_zp)
    gather = interleaved = 0
    small = False
    filter_values = w.array()
    if not depthwise and groups == 1:
        window = kh * kw * ic
        gather = int(
            (kh > 1 or kw > 1) and kw * ic < GATHER_ROW_LIMIT and window <= GATHER_WINDOW_LIMIT
        )
        # Interleaved filters suit the kernel's row-by-row path, which it takes for every
        # pixel only if no window crosses the border.
        never_crosses = (
            pad_top == 0
            and pad_left == 0
            and dw == 1
            and (oh - 1) * sh + (kh - 1) * dh + 1 <= ih
            and (ow - 1) * sw + (kw - 1) * dw + 1 <= iw
        )
        # Small windows with right shifts only take their own kernel (ts_conv2d_small_s8).
        small = bool(gather and window <= SMALL_WINDOW and (shifts < 0).all())
        gather = 0 if small else gather
        if gather:
            ctx.em.gathered_window = max(ctx.em.gathered_window, window)
        if gather or (never_crosses and not small):
            interleaved = 1
            filter_values = interleave_blocks(filter_values.reshape(oc, -1), 1 if gather else kh)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_conv_params",
        {
            "batches": n,
            "in_h": ih,
            "in_w": iw,
            "in_c": ic,
            "out_h": oh,
            "out_w": ow,
            "out_c": oc,
            "k_h": kh,
            "k_w": kw,
            "stride_h": sh,
            "stride_w": sw,
            "dil_h": dh,
            "dil_w": dw,
            "pad_top": pad_top,
            "pad_left": pad_left,
            "depth_multiplier": dm,
            "groups": groups,
            "input_offset": -in_zp,
            "output_offset": out_zp,
            "act_min": act_min,
            "act_max": act_max,
            "gather": gather,
            "interleaved": interleaved,
        },
    )
    taps = kh * kw if depthwise else kh * kw * w.shape[3]
    em.macs += n * oh * ow * oc * taps
    if small:
        records = small_window_records(filter_values.reshape(oc, -1), bias_full, mults, shifts)
        em.body.append(
            f"ts_conv2d_small_s8(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
            f"{em.const_array(ctx.name('records'), 'int32_t', records)}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
        return
    if interleaved:
        filt = em.const_array(ctx.name("filter"), "int8_t", filter_values)
    else:
        filt = em.tensor_ptr(ctx.op.inputs[1], "const int8_t")
    bf = em.const_array(ctx.name("bias_full"), "int32_t", bias_full)
    if depthwise:
        bf = em.const_array(ctx.name("bias"), "int32_t", bias) + ", " + bf
    m = em.const_array(ctx.name("multiplier"), "int32_t", mults)
    s = em.const_array(ctx.name("shift"), "int32_t", shifts)
    fn = "ts_depthwise_conv2d_s8" if depthwise else "ts_conv2d_s8"
    em.body.append(
        f"{fn}(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, {filt}, {bf}, "
        f"{m}, {s}, {em.tensor_ptr(ctx.op.outputs[0])});"
    )


# Windows of at most this many bytes with rows shorter than GATHER_ROW_LIMIT are gathered
# (TS_CONV_GATHER_BYTES's default in ts_kernels.h; a model's C checks the value it builds with).
GATHER_WINDOW_LIMIT = 256
GATHER_ROW_LIMIT = 32
# Gathered windows of at most this many bytes take ts_conv2d_small_s8 (TS_SMALL_WINDOW).
SMALL_WINDOW = 12


def small_window_records(
    weights: np.ndarray, bias_full: np.ndarray, mults: np.ndarray, shifts: np.ndarray
) -> np.ndarray:
    """The channel records of a small-window convolution (ts_conv2d_small_s8): per output channel
    bias_full, the multiplier, the rounding constant 2^30 + 2^(30 + e) as low and high words,
    e - 1 (for the right shift e = -shift), then per four taps the 16-bit pairs (t0, t2) and
    (t1, t3) as int32 words, zero past the last tap (always SMALL_WINDOW taps' worth)."""
    out, taps = weights.shape
    words = SMALL_WINDOW // 4
    padded = np.zeros((out, words * 4), dtype=np.int64)
    padded[:, :taps] = weights
    quads = padded.reshape(out, words, 4)

    def pair(low: np.ndarray, high: np.ndarray) -> np.ndarray:
        word = (low & 0xFFFF) | ((high & 0xFFFF) << 16)
        return np.where(word >= 1 << 31, word - (1 << 32), word)

    pairs = np.stack([pair(quads[..., 0], quads[..., 2]), pair(quads[..., 1], quads[..., 3])], -1)
    e = -np.asarray(shifts, dtype=np.int64)
    rounding = (1 << 30) + (1 << (30 + e))
    low = rounding & 0xFFFFFFFF
    head = np.stack(
        [bias_full, mults, np.where(low >= 1 << 31, low - (1 << 32), low), rounding >> 32, e - 1],
        axis=1,
    ).astype(np.int64)
    return np.concatenate([head, pairs.reshape(out, -1)], axis=1).reshape(-1)


def interleave_blocks(weights: np.ndarray, rows: int) -> np.ndarray:
    """Reorders [out, rows * run] int8 weights for ts_dot4i_s8: each block of four outputs,
    row by row, as 4-byte chunks of the four filters in turn, then their run % 4 tails; the
    last out % 4 filters stay as they are."""
    out = weights.shape[0]
    flat = weights.reshape(out, rows, -1)
    run = flat.shape[2]
    chunks = run // 4
    parts = []
    for block in range(out // 4):
        four = flat[4 * block : 4 * block + 4]
        for r in range(rows):
            body = four[:, r, : 4 * chunks].reshape(4, chunks, 4).transpose(1, 0, 2)
            parts.append(body.reshape(-1))
            parts.append(four[:, r, 4 * chunks :].reshape(-1))
    parts.append(flat[4 * (out // 4) :].reshape(-1))
    return np.concatenate(parts)


def _conv2d(ctx: _Context) -> None:
    _conv_like(ctx, depthwise=False)


def _depthwise(ctx: _Context) -> None:
    _conv_like(ctx, depthwise=True)


def _fully_connected(ctx: _Context) -> None:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    _require_int8(ctx, x, w, y)
    if not w.is_constant:
        raise ctx.fail("weights must be a constant tensor")
    if int(ctx.op.options.get("weights_format", 0)):
        raise ctx.fail("shuffled weights format is not supported")
    out_depth, depth = w.shape[0], w.shape[-1]
    if x.elements % depth:
        raise ctx.fail("input size is not a multiple of the weights' depth")
    batches = x.elements // depth
    in_scale, in_zp = _quant(x)
    out_scale, out_zp = _quant(y)
    assert w.quantization is not None
    w_zp = int(w.quantization.zero_points[0])
    weights = w.array().astype(np.int64).reshape(out_depth, depth)
    bias = (
        ctx.t(2).array().astype(np.int64).reshape(-1)
        if ctx.has_input(2)
        else np.zeros(out_depth, dtype=np.int64)
    )
    per_channel = w.quantization.scales.size > 1
    if per_channel:
        mults, shifts = _per_channel_multipliers(
            in_scale, w.quantization.scales, out_scale, out_depth
        )
    else:
        # GetQuantizedConvolutionMultipler: the scales' product is taken in float, the
        # division in double.
        product = np.float32(f32(in_scale) * f32(w.quantization.scale))
        real = float(product) / float(f32(out_scale))
        m0, s0 = quantize_multiplier(real)
        mults, shifts = np.array([m0]), np.array([s0])
    filter_offset = -w_zp
    bias_full = bias + (-in_zp) * (weights + filter_offset).sum(axis=1)
    act_min, act_max = activation_range(ctx.activation(), out_scale, out_zp)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_fc_params",
        {
            "batches": batches,
            "accum_depth": depth,
            "out_depth": out_depth,
            "input_offset": -in_zp,
            "filter_offset": filter_offset,
            "output_offset": out_zp,
            "act_min": act_min,
            "act_max": act_max,
            "per_channel": int(per_channel),
            "interleaved": int(filter_offset == 0),
        },
    )
    if filter_offset == 0:
        filt = em.const_array(
            ctx.name("filter"), "int8_t", interleave_blocks(w.array().reshape(out_depth, -1), 1)
        )
    else:
        filt = em.tensor_ptr(ctx.op.inputs[1], "const int8_t")
    bf = em.const_array(ctx.name("bias_full"), "int32_t", bias_full)
    m = em.const_array(ctx.name("multiplier"), "int32_t", mults)
    s = em.const_array(ctx.name("shift"), "int32_t", shifts)
    em.body.append(
        f"ts_fully_connected_s8(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{filt}, {bf}, {m}, {s}, {em.tensor_ptr(ctx.op.outputs[0])});"
    )
    em.macs += batches * out_depth * depth


def _pool(ctx: _Context, kind: str) -> None:
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x, y)
    n, ih, iw, c = _shape4(x.shape)
    _, oh, ow, _ = _shape4(y.shape)
    opts = ctx.op.options
    kh, kw = int(opts["filter_height"]), int(opts["filter_width"])
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (1, 1), padding)
    if (n, c) != (_shape4(y.shape)[0], _shape4(y.shape)[3]):
        raise ctx.fail(f"input {x.shape} and output {y.shape} disagree on batches or channels")
    pad_top = _same_padding(ih, oh, kh, sh, 1) if padding == "SAME" else 0
    pad_left = _same_padding(iw, ow, kw, sw, 1) if padding == "SAME" else 0
    if _quant(x) != _quant(y):
        raise ctx.fail("input and output quantization must be equal")
    out_scale, out_zp = _quant(y)
    act_min, act_max = activation_range(ctx.activation(), out_scale, out_zp)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_pool_params",
        {
            "batches": n,
            "in_h": ih,
            "in_w": iw,
            "channels": c,
            "out_h": oh,
            "out_w": ow,
            "k_h": kh,
            "k_w": kw,
            "stride_h": sh,
            "stride_w": sw,
            "pad_top": pad_top,
            "pad_left": pad_left,
            "act_min": act_min,
            "act_max": act_max,
        },
    )
    fn = "ts_average_pool_s8" if kind == "avg" else "ts_max_pool_s8"
    em.body.append(
        f"{fn}(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _broadcast_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    rank = len(out_shape)
    dims = [1] * (rank - len(shape)) + list(shape)
    strides = [0] * rank
    step = 1
    for d in range(rank - 1, -1, -1):
        strides[d] = step if dims[d] != 1 else 0
        step *= dims[d]
    return strides


# ts_binary_s8's op codes (TS_BINARY_* in ts_kernels.h).
BINARY_OPS = {"ADD": 0, "SUB": 1, "MUL": 2, "MAXIMUM": 3, "MINIMUM": 4}


def _binary(ctx: _Context) -> None:
    """ADD, SUB, MUL, MAXIMUM and MINIMUM with broadcasting, as TFLite's reference computes
    them: ADD/SUB bring both inputs to twice the larger scale after a left shift of 20, MUL
    requantizes the product of the offset inputs, MAXIMUM/MINIMUM compare int8 values of one
    quantization."""
    op = ctx.op.opcode
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    _require_int8(ctx, a, b, y)
    (s1, z1), (s2, z2), (so, zo) = _quant(a), _quant(b), _quant(y)
    left_shift = 0
    m1 = sh1 = m2 = sh2 = mo = sho = 0
    if op in ("ADD", "SUB"):
        left_shift = 20
        twice_max = 2.0 * float(max(f32(s1), f32(s2)))
        m1, sh1 = quantize_multiplier(float(f32(s1)) / twice_max)
        m2, sh2 = quantize_multiplier(float(f32(s2)) / twice_max)
        mo, sho = quantize_multiplier(twice_max / float(np.float32((1 << left_shift) * f32(so))))
    elif op == "MUL":
        mo, sho = quantize_multiplier(float(f32(s1)) * float(f32(s2)) / float(f32(so)))
    elif (s1, z1) != (so, zo) or (s2, z2) != (so, zo):
        raise ctx.fail("inputs and output must share one quantization (scale and zero point)")
    act_min, act_max = (
        activation_range(ctx.activation(), so, zo) if op in ("ADD", "SUB", "MUL") else (-128, 127)
    )
    rank = 0
    out_dims: list[int] = [0] * 6
    st1: list[int] = [0] * 6
    st2: list[int] = [0] * 6
    if a.shape != b.shape:
        if len(y.shape) > 6:
            raise ctx.fail("broadcasting over more than 6 dimensions is not supported")
        rank = len(y.shape)
        out_dims[:rank] = list(y.shape)
        st1[:rank] = _broadcast_strides(a.shape, y.shape)
        st2[:rank] = _broadcast_strides(b.shape, y.shape)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_binary_params",
        {
            "op": BINARY_OPS[op],
            "size": y.elements,
            "input1_offset": -z1,
            "input2_offset": -z2,
            "output_offset": zo,
            "left_shift": left_shift,
            "input1_multiplier": m1,
            "input1_shift": sh1,
            "input2_multiplier": m2,
            "input2_shift": sh2,
            "output_multiplier": mo,
            "output_shift": sho,
            "act_min": act_min,
            "act_max": act_max,
            "rank": rank,
            "out_dims": out_dims,
            "in1_strides": st1,
            "in2_strides": st2,
        },
    )
    em.body.append(
        f"ts_binary_s8(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{em.tensor_ptr(ctx.op.inputs[1], 'const int8_t')}, {em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _softmax(ctx: _Context) -> None:
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x, y)
    in_scale, _ = _quant(x)
    out_scale, out_zp = _quant(y)
    if out_zp != -128 or abs(out_scale - 1.0 / 256) > 0.001 / 256:
        raise ctx.fail("int8 softmax output must have scale 1/256 and zero point -128")
    beta = float(ctx.op.options.get("beta", 1.0))
    multiplier, left_shift, diff_min = softmax_scaling(beta, in_scale)
    depth = x.shape[-1] if x.shape else 1
    ctx.em.body.append(
        f"ts_softmax_s8({x.elements // depth}, {depth}, {multiplier}, {left_shift}, {diff_min}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _logistic(ctx: _Context) -> None:
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x, y)
    (si, zi), (so, zo) = _quant(x), _quant(y)
    table = ctx.em.const_array(
        ctx.name("table"), "int8_t", activation_table(ctx.op.opcode, si, zi, so, zo)
    )
    ctx.em.body.append(
        f"ts_lookup_s8({x.elements}, {table}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _table_op(ctx: _Context) -> None:
    """LEAKY_RELU and HARD_SWISH as 256-entry tables of what LiteRT's reference computes."""
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x, y)
    (si, zi), (so, zo) = _quant(x), _quant(y)
    if ctx.op.opcode == "LEAKY_RELU":
        values = leaky_relu_table(float(ctx.op.options.get("alpha", 0.0)), si, zi, so, zo)
    else:
        try:
            values = hard_swish_table(si, zi, so, zo)
        except ValueError as exc:
            raise ctx.fail(str(exc)) from None
    table = ctx.em.const_array(ctx.name("table"), "int8_t", values)
    ctx.em.body.append(
        f"ts_lookup_s8({x.elements}, {table}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _relu(ctx: _Context, activation: str) -> None:
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x, y)
    (si, zi), (so, zo) = _quant(x), _quant(y)
    mult, shift = quantize_multiplier(float(f32(si)) / float(f32(so)))
    act_min, act_max = activation_range(activation, so, zo)
    ctx.em.body.append(
        f"ts_relu_s8({x.elements}, {zi}, {zo}, {mult}, {shift}, {act_min}, {act_max}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _view(ctx: _Context) -> None:
    src, dst = ctx.op.inputs[0], ctx.op.outputs[0]
    em = ctx.em
    if em.plan.shared.get(dst) == src or (
        not ctx.t(0).is_constant and em.plan.offsets.get(src) == em.plan.offsets.get(dst)
    ):
        em.body.append(f"/* {ctx.op.opcode}: output shares the input's bytes */")
        return
    em.body.append(
        f"memmove({em.tensor_ptr(dst, 'uint8_t')}, {em.tensor_ptr(src, 'const uint8_t')}, "
        f"{ctx.out().nbytes});"
    )


def _quantize(ctx: _Context) -> None:
    x, y = ctx.t(0), ctx.out()
    em = ctx.em
    so, zo = _quant(y)
    if y.type_code != INT8:
        raise ctx.fail(f"output type {y.type_name} is not supported (INT8 only)")
    if x.type_code == FLOAT32:
        em.body.append(
            f"ts_quantize_f32_s8({x.elements}, {_c_float(so)}, {zo}, "
            f"{em.tensor_ptr(ctx.op.inputs[0], 'const float')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
    elif x.type_code == INT8:
        si, zi = _quant(x)
        mult, shift = quantize_multiplier(float(f32(si)) / float(f32(so)))
        em.body.append(
            f"ts_requantize_s8({x.elements}, {zi}, {zo}, {mult}, {shift}, "
            f"{em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
    else:
        raise ctx.fail(f"input type {x.type_name} is not supported (FLOAT32 or INT8)")


def _dequantize(ctx: _Context) -> None:
    x, y = ctx.t(0), ctx.out()
    _require_int8(ctx, x)
    if y.type_code != FLOAT32:
        raise ctx.fail(f"output type {y.type_name} is not supported (FLOAT32 only)")
    si, zi = _quant(x)
    ctx.em.body.append(
        f"ts_dequantize_s8_f32({x.elements}, {float(f32(si)).hex()}, {zi}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0], 'float')});"
    )


def _pad(ctx: _Context) -> None:
    x, paddings, y = ctx.t(0), ctx.t(1), ctx.out()
    if not paddings.is_constant:
        raise ctx.fail("paddings must be a constant tensor")
    if x.type_code not in (INT8, FLOAT32):
        raise ctx.fail(f"tensor type {x.type_name} is not supported")
    pads = paddings.array().astype(np.int64).reshape(-1, 2)
    rank = len(x.shape)
    if rank > 4:
        raise ctx.fail("more than 4 dimensions are not supported")
    before = [0] * (4 - rank) + [int(p) for p in pads[:, 0]]
    em = ctx.em
    if x.type_code == INT8:
        if ctx.op.opcode == "PADV2" and ctx.has_input(2):
            value = int(ctx.t(2).array().reshape(-1)[0])
        else:
            value = _quant(y)[1]
        pad_value = em.const_array(ctx.name("pad_value"), "int8_t", np.array([value]))
    else:
        value_f = float(ctx.t(2).array().reshape(-1)[0]) if ctx.has_input(2) else 0.0
        pad_value = em.const_array(ctx.name("pad_value"), "float", np.array([value_f]))
    params = em.const_struct(
        ctx.name("params"),
        "ts_pad_params",
        {
            "in_dims": list(_shape4(x.shape)),
            "out_dims": list(_shape4(y.shape)),
            "before": before,
            "elem_bytes": x.dtype.itemsize,
        },
    )
    em.body.append(
        f"ts_pad(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const void')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0], 'void')}, {pad_value});"
    )


def _concatenation(ctx: _Context) -> None:
    y = ctx.out()
    axis = int(ctx.op.options.get("axis", 0))
    if axis < 0:
        axis += len(y.shape)
    if ctx.activation() != "NONE":
        raise ctx.fail("fused activation on concatenation is not supported")
    eb = y.dtype.itemsize
    outer = int(np.prod(y.shape[:axis], dtype=np.int64)) if axis else 1
    out_stride = int(np.prod(y.shape[axis:], dtype=np.int64)) * eb
    offset = 0
    em = ctx.em
    for position in range(len(ctx.op.inputs)):
        x = ctx.t(position)
        if x.type_code != y.type_code:
            raise ctx.fail("inputs and output must have the same type")
        if y.type_code == INT8 and _quant(x) != _quant(y):
            raise ctx.fail("inputs must share the output's quantization")
        block = int(np.prod(x.shape[axis:], dtype=np.int64)) * eb
        em.body.append(
            f"ts_copy_blocks({outer}, {block}, {block}, {out_stride}, "
            f"{em.tensor_ptr(ctx.op.inputs[position], 'const uint8_t')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0], 'uint8_t')} + {offset});"
        )
        offset += block


def _transpose(ctx: _Context) -> None:
    x, perm_t, y = ctx.t(0), ctx.t(1), ctx.out()
    _require_int8(ctx, x, y)
    if not perm_t.is_constant:
        raise ctx.fail("the permutation must be a constant tensor")
    rank = len(x.shape)
    perm = [int(p) % max(rank, 1) for p in perm_t.array().reshape(-1)]
    if rank > 6 or sorted(perm) != list(range(rank)):
        raise ctx.fail(f"permutation {perm} of {rank} dimensions is not supported")
    if _quant(x) != _quant(y):
        raise ctx.fail("input and output must share one quantization")
    strides = [int(np.prod(x.shape[d + 1 :], dtype=np.int64)) for d in range(rank)]
    params = ctx.em.const_struct(
        ctx.name("params"),
        "ts_transpose_params",
        {
            "rank": rank,
            "size": y.elements,
            "out_dims": [x.shape[p] for p in perm] + [0] * (6 - rank),
            "in_strides": [strides[p] for p in perm] + [0] * (6 - rank),
        },
    )
    ctx.em.body.append(
        f"ts_transpose_s8(&{params}, {ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _split(ctx: _Context) -> None:
    """SPLIT (axis tensor first) and SPLIT_V (sizes and axis after the input): each output is
    a run of blocks of the input along the axis."""
    data = 1 if ctx.op.opcode == "SPLIT" else 0
    axis_t = ctx.t(0) if data == 1 else ctx.t(2)
    x = ctx.t(data)
    if not axis_t.is_constant:
        raise ctx.fail("the axis must be a constant tensor")
    axis = int(axis_t.array().reshape(-1)[0]) % len(x.shape)
    eb = x.dtype.itemsize
    outer = int(np.prod(x.shape[:axis], dtype=np.int64)) if axis else 1
    in_stride = int(np.prod(x.shape[axis:], dtype=np.int64)) * eb
    offset = 0
    em = ctx.em
    for position, index in enumerate(ctx.op.outputs):
        y = ctx.model.tensors[index]
        if y.type_code != x.type_code or (x.type_code == INT8 and _quant(x) != _quant(y)):
            raise ctx.fail("outputs must share the input's type and quantization")
        block = int(np.prod(y.shape[axis:], dtype=np.int64)) * eb
        em.body.append(
            f"ts_copy_blocks({outer}, {block}, {in_stride}, {block}, "
            f"{em.tensor_ptr(ctx.op.inputs[data], 'const uint8_t')} + {offset}, "
            f"{em.tensor_ptr(ctx.op.outputs[position], 'uint8_t')});"
        )
        offset += block


def _mean(ctx: _Context) -> None:
    x, axes_t, y = ctx.t(0), ctx.t(1), ctx.out()
    _require_int8(ctx, x, y)
    if not axes_t.is_constant:
        raise ctx.fail("axes must be a constant tensor")
    rank = len(x.shape)
    if rank > 6:
        raise ctx.fail("more than 6 dimensions are not supported")
    axes = sorted({int(a) % rank for a in axes_t.array().reshape(-1)})
    strides = [int(np.prod(x.shape[d + 1 :], dtype=np.int64)) for d in range(rank)]
    kept = [d for d in range(rank) if d not in axes]
    count = int(np.prod([x.shape[d] for d in axes], dtype=np.int64)) if axes else 1
    (si, zi), (so, zo) = _quant(x), _quant(y)
    multiplier, shift = quantize_multiplier(float(f32(si)) / float(f32(so)))
    if count > 0:
        # QuantizedMeanOrSum folds 1/count into the multiplier with a bounded extra shift.
        extra = min(count.bit_length() - 1, 32, 31 + shift)
        multiplier = ((multiplier << extra) // count) if extra >= 0 else multiplier
        shift -= extra
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_mean_params",
        {
            "kept_rank": len(kept),
            "kept_dims": [x.shape[d] for d in kept] + [0] * (6 - len(kept)),
            "kept_strides": [strides[d] for d in kept] + [0] * (6 - len(kept)),
            "reduced_rank": len(axes),
            "reduced_dims": [x.shape[d] for d in axes] + [0] * (6 - len(axes)),
            "reduced_strides": [strides[d] for d in axes] + [0] * (6 - len(axes)),
            "count": count,
            "input_zero_point": zi,
            "output_zero_point": zo,
            "multiplier": multiplier,
            "shift": shift,
        },
    )
    em.body.append(
        f"ts_mean_s8(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )


OpHandler = Callable[[_Context], None]

HANDLERS: dict[str, OpHandler] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": lambda ctx: _pool(ctx, "avg"),
    "MAX_POOL_2D": lambda ctx: _pool(ctx, "max"),
    **dict.fromkeys(BINARY_OPS, _binary),
    "SOFTMAX": _softmax,
    "LOGISTIC": _logistic,
    "TANH": _logistic,
    "LEAKY_RELU": _table_op,
    "HARD_SWISH": _table_op,
    "RELU": lambda ctx: _relu(ctx, "RELU"),
    "RELU6": lambda ctx: _relu(ctx, "RELU6"),
    "RELU_N1_TO_1": lambda ctx: _relu(ctx, "RELU_N1_TO_1"),
    "RESHAPE": _view,
    "SQUEEZE": _view,
    "EXPAND_DIMS": _view,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concatenation,
    "TRANSPOSE": _transpose,
    "SPLIT": _split,
    "SPLIT_V": _split,
    "MEAN": _mean,
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


def _row_overlap(model: Model, op: Operator) -> int | None:
    """Bytes the output must start before the input so that row-by-row execution is safe."""
    x = model.tensors[op.inputs[0]]
    y = model.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
        return None
    _, ih, iw, ic = x.shape
    _, oh, ow, oc = y.shape
    opts = op.options
    stride = int(opts.get("stride_h", 1) or 1)
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh = model.tensors[op.inputs[1]].shape[1]
        dilation = int(opts.get("dilation_h_factor", 1) or 1)
    else:
        kh = int(opts.get("filter_height", 1) or 1)
        dilation = 1
    padding = PADDINGS.get(int(opts.get("padding", 1)), "VALID")
    pad_top = _same_padding(ih, oh, kh, stride, dilation) if padding == "SAME" else 0
    row_in = iw * ic * x.dtype.itemsize
    row_out = ow * oc * y.dtype.itemsize
    # Output row r must end before the first input row that row r still reads.
    return max((r + 1) * row_out - max(0, stride * r - pad_top) * row_in for r in range(oh))


def _planned_ops(model: Model) -> list[PlannedOp]:
    planned = []
    for op in model.operators:
        inputs = [i for i in op.inputs if i >= 0 and not model.tensors[i].is_constant]
        outputs = [i for i in op.outputs if i >= 0]
        reuse = Reuse.NONE
        reusable: tuple[int, ...] = (0,)
        overlap = 0
        if op.opcode in VIEW_OPS:
            reuse = Reuse.VIEW
            inputs = inputs[:1]
        elif op.opcode in IN_PLACE_OPS:
            reuse = Reuse.IN_PLACE
            all_inputs = [i for i in op.inputs if i >= 0]
            reusable = tuple(
                inputs.index(all_inputs[p])
                for p in IN_PLACE_OPS[op.opcode]
                if p < len(all_inputs) and all_inputs[p] in inputs
            )
        elif op.opcode in ROW_BY_ROW_OPS and inputs and inputs[0] == op.inputs[0]:
            rows = _row_overlap(model, op)
            if rows is not None:
                reuse = Reuse.OVERLAP
                overlap = rows
        planned.append(
            PlannedOp(
                inputs=inputs,
                outputs=outputs,
                reuse=reuse,
                reusable_inputs=reusable,
                overlap=overlap,
            )
        )
    return planned


def supported_ops() -> list[str]:
    """The operators the compiler generates code for, plus those it folds away, sorted."""
    return sorted({*HANDLERS, *FOLDED_OPS})


def check_supported(model: Model) -> None:
    """Raises `UnsupportedModelError` naming the first op the compiler cannot handle."""
    for op in model.operators:
        if op.opcode not in HANDLERS:
            raise unsupported(
                model,
                op,
                "operator is not supported (the compiler takes "
                f"{', '.join(supported_ops())}; see workers/compiler/README.md)",
            )
    for index in model.inputs + model.outputs:
        t = model.tensors[index]
        if t.type_code not in C_TYPES:
            raise UnsupportedModelError(f"model input/output {t.name!r} has type {t.type_name}")


def generate(model: Model, prefix: str = "ts_model") -> GeneratedModel:
    """Plans memory and emits `<prefix>.h` and `<prefix>.c` for the model."""
    model = fold_shape_ops(model)
    check_supported(model)
    sizes: dict[int, int] = {}
    alignments: dict[int, int] = {}
    for t in model.tensors:
        if not t.is_constant:
            try:
                sizes[t.index] = t.nbytes
            except ValueError as exc:
                raise UnsupportedModelError(str(exc)) from exc
            alignments[t.index] = max(1, t.dtype.itemsize)
    planned = _planned_ops(model)
    plan = plan_memory(planned, sizes, model.inputs, model.outputs, alignments)
    # Cheap insurance: never emit code whose live tensors overlap by mistake.
    check_plan(plan, sizes)
    em = _Emitter(model, prefix, plan)
    upper = prefix.upper()
    for op in model.operators:
        ctx = _Context(em, op)
        layer = _comment_text(model.tensors[op.outputs[0]].name)
        em.body.append(f"/* {op.index}: {op.opcode} -> {layer} */")
        try:
            check_output_shape(model, op)
            HANDLERS[op.opcode](ctx)
        except (UnsupportedModelError, TfliteFormatError):
            raise
        except (
            AssertionError,
            IndexError,
            KeyError,
            ValueError,
            TypeError,
            ZeroDivisionError,
        ) as exc:
            # A handler meeting tensors its operator cannot have (a damaged or hand-edited file:
            # missing quantization, shapes that disagree) refuses the model by the operator.
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise unsupported(model, op, f"its tensors do not fit the operator ({detail})") from exc
        out_index = op.outputs[0]
        em.body.append(
            f"{upper}_TRACE({op.index}, {em.tensor_ptr(out_index, 'const void')}, "
            f"{model.tensors[out_index].nbytes});"
        )

    arena = max(plan.arena_bytes, 1)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    header = _header(prefix, upper, arena, inputs, outputs)
    source = _source(prefix, upper, arena, em, model, inputs, outputs)
    return GeneratedModel(
        files={f"{prefix}.h": header, f"{prefix}.c": source},
        ops=[op.opcode for op in model.operators],
        arena_bytes=plan.arena_bytes,
        lower_bound=plan.lower_bound,
        weights_bytes=em.weights_bytes,
        macs=em.macs,
        plan=plan,
        inputs=inputs,
        outputs=outputs,
    )


def _io_macros(upper: str, kind: str, tensors: list[Tensor]) -> list[str]:
    lines = []
    for i, t in enumerate(tensors):
        scale, zp = (t.quantization.scale, t.quantization.zero_point) if t.quantization else (0, 0)
        base = f"#define {upper}_{kind}{i}"
        dims = ", ".join(str(d) for d in t.shape)
        lines += [
            f"{base}_TYPE        {TYPE_MACROS[t.type_code]}",
            f"{base}_ELEMENTS    {t.elements}",
            f"{base}_BYTES       {t.nbytes}",
            f"{base}_SCALE       {_c_float(scale)}",
            f"{base}_ZERO_POINT  ({zp})",
            f"{base}_RANK        {len(t.shape)}",
            f"{base}_DIMS        {{{dims}}}",
        ]
    return lines


def _header(
    prefix: str, upper: str, arena: int, inputs: list[Tensor], outputs: list[Tensor]
) -> str:
    guard = f"{upper}_H"
    lines = [
        f"/* {prefix}: a compiled TinyStudio model. Write inputs through {prefix}_input(),",
        f" * call {prefix}_invoke(), read outputs through {prefix}_output(). */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#ifndef TS_TYPE_FLOAT32",
        "#define TS_TYPE_FLOAT32 0",
        "#endif",
        "#ifndef TS_TYPE_INT32",
        "#define TS_TYPE_INT32 2",
        "#endif",
        "#ifndef TS_TYPE_UINT8",
        "#define TS_TYPE_UINT8 3",
        "#endif",
        "#ifndef TS_TYPE_INT16",
        "#define TS_TYPE_INT16 7",
        "#endif",
        "#ifndef TS_TYPE_INT8",
        "#define TS_TYPE_INT8 9",
        "#endif",
        "",
        f"#define {upper}_ARENA_BYTES        {arena}",
        f"#define {upper}_INPUT_COUNT        {len(inputs)}",
        f"#define {upper}_OUTPUT_COUNT       {len(outputs)}",
        *_io_macros(upper, "INPUT", inputs),
        *_io_macros(upper, "OUTPUT", outputs),
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"void *{prefix}_input(int index);",
        f"void *{prefix}_output(int index);",
        f"int {prefix}_invoke(void);",
        f"extern const char *const {prefix}_op_names[];",
        f"extern const int {prefix}_op_count;",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)


def _source(
    prefix: str,
    upper: str,
    arena: int,
    em: _Emitter,
    model: Model,
    inputs: list[Tensor],
    outputs: list[Tensor],
) -> str:
    in_offsets = ", ".join(str(em.plan.offsets[t.index]) for t in inputs) or "0"
    out_offsets = ", ".join(str(em.plan.offsets[t.index]) for t in outputs) or "0"
    names = ", ".join(f'"{op.opcode}"' for op in model.operators)
    body = "\n    ".join(em.body)
    gathered = em.gathered_window
    refusal = (
        f"this model gathers convolution windows of {gathered} bytes: "
        f"TS_CONV_GATHER_BYTES must be at least {gathered}"
    )
    gather_check = (
        f"""
/* Convolution windows of up to {gathered} bytes are gathered (their filters are laid out so). */
#if TS_CONV_GATHER_BYTES < {gathered}
#error "{refusal}"
#endif
"""
        if gathered
        else ""
    )
    return f"""/* {prefix}: generated by the TinyStudio model compiler. Do not edit. */
#include "{prefix}.h"

#include <string.h>

#include "ts_kernels.h"
{gather_check}
/* Hook called after every op with its output (op index, data, bytes); off unless defined. */
#ifndef {upper}_TRACE
#define {upper}_TRACE(op, data, bytes) ((void)0)
#endif

/* The one arena holding every activation tensor; offsets come from the memory planner. */
#if defined(__GNUC__)
static uint8_t {prefix}_arena[{arena}] __attribute__((aligned(16)));
#else
static uint8_t {prefix}_arena[{arena}];
#endif

static const int32_t {prefix}_input_offsets[] = {{{in_offsets}}};
static const int32_t {prefix}_output_offsets[] = {{{out_offsets}}};

const char *const {prefix}_op_names[] = {{{names}}};
const int {prefix}_op_count = {len(model.operators)};

{"".join(em.data)}
void *{prefix}_input(int index)
{{
    if (index < 0 || index >= {upper}_INPUT_COUNT) {{
        return NULL;
    }}
    return {prefix}_arena + {prefix}_input_offsets[index];
}}

void *{prefix}_output(int index)
{{
    if (index < 0 || index >= {upper}_OUTPUT_COUNT) {{
        return NULL;
    }}
    return {prefix}_arena + {prefix}_output_offsets[index];
}}

int {prefix}_invoke(void)
{{
    {body}
    return 0;
}}
"""


def write_sources(generated: GeneratedModel, out_dir: Path) -> list[Path]:
    """Writes the model's C files and the shared kernels into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated.files.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    for name in KERNEL_FILES:
        path = out_dir / name
        shutil.copyfile(KERNEL_DIR / name, path)
        written.append(path)
    return written
