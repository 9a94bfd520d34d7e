"""Op handlers for int16 activations with int8 weights (16x8, the converter's
EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8): convolutions, fully connected
layers, pooling, ADD/SUB, softmax, quantize and dequantize, in the arithmetic of LiteRT's
reference kernels for them. Every int16 tensor has zero point 0, as LiteRT requires."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from workers.compiler.checks import check_window_output
from workers.compiler.emit import (
    FLOAT32,
    INT8,
    INT16,
    INT64,
    OpContext,
    c_float,
    per_channel_multipliers,
    quant,
    shape4,
)
from workers.compiler.ops_conv import window_padding
from workers.compiler.ops_math import binary_params
from workers.compiler.quantization import (
    INT16_RANGE,
    activation_range,
    f32,
    int16_lut,
    quantize_multiplier,
)
from workers.compiler.tflite_reader import PADDINGS, Tensor


def _require(ctx: OpContext, tensor: Tensor, type_code: int, type_name: str) -> None:
    if tensor.type_code != type_code:
        raise ctx.fail(
            f"tensor {tensor.name!r} has type {tensor.type_name}; with int16 activations the "
            f"compiler takes {type_name} here"
        )


def _activation16(ctx: OpContext, *tensors: Tensor) -> None:
    """Each tensor int16 with zero point 0 (LiteRT's 16x8 kernels refuse others)."""
    for t in tensors:
        _require(ctx, t, INT16, "INT16")
        if quant(t)[1] != 0:
            raise ctx.fail(f"int16 tensor {t.name!r} has zero point {quant(t)[1]}, not 0")


def _weights(ctx: OpContext, w: Tensor) -> np.ndarray:
    """A constant, symmetric int8 weight tensor's values."""
    _require(ctx, w, INT8, "INT8 weights")
    if not w.is_constant:
        raise ctx.fail("weights must be a constant tensor")
    assert w.quantization is not None
    if np.any(w.quantization.zero_points != 0):
        raise ctx.fail("weight zero points must be 0")
    return w.array()


def _bias64(ctx: OpContext, position: int, channels: int) -> np.ndarray:
    """The INT64 bias (zeros without one). LiteRT reads a 16x8 bias as int64 unless the model
    says otherwise in an option the converter does not write, so INT32 biases are refused."""
    if not ctx.has_input(position):
        return np.zeros(channels, dtype=np.int64)
    bias = ctx.t(position)
    _require(ctx, bias, INT64, "an INT64 bias")
    values = bias.array().astype(np.int64).reshape(-1)
    if values.size != channels:
        raise ctx.fail(f"bias of {values.size} values for {channels} output channels")
    return values


def _conv16(ctx: OpContext, depthwise: bool) -> None:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    _activation16(ctx, x, y)
    weights = _weights(ctx, w)
    if len(w.shape) != 4:
        raise ctx.fail(f"filter {w.shape} must have 4 dimensions")
    n, ih, iw, ic = shape4(x.shape)
    yn, oh, ow, oc = shape4(y.shape)
    kh, kw = w.shape[1], w.shape[2]
    opts = ctx.op.options
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    dh, dw = int(opts["dilation_h_factor"]), int(opts["dilation_w_factor"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(
        ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (dh, dw), padding
    )
    if w.shape[3 if depthwise else 0] != oc or yn != n:
        raise ctx.fail(f"filter {w.shape} and output {y.shape} disagree on the output channels")
    groups, multiplier = 1, 1
    if depthwise:
        multiplier = oc // ic if ic else 0
        if multiplier * ic != oc:
            raise ctx.fail(f"{oc} output channels are no multiple of {ic} input channels")
    else:
        if w.shape[3] == 0 or ic % w.shape[3] or oc % (ic // w.shape[3]):
            raise ctx.fail("input channels are not a multiple of the filter depth")
        groups = ic // w.shape[3]
    pad_top, pad_left = window_padding(
        ctx, padding, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (dh, dw)
    )
    assert w.quantization is not None
    mults, shifts = per_channel_multipliers(quant(x)[0], w.quantization.scales, quant(y)[0], oc)
    act_min, act_max = activation_range(ctx.activation(), quant(y)[0], 0, INT16_RANGE)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_conv_params",
        {
            "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow,
            "out_c": oc, "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "dil_h": dh,
            "dil_w": dw, "pad_top": pad_top, "pad_left": pad_left,
            "depth_multiplier": multiplier, "groups": groups, "input_offset": 0,
            "output_offset": 0, "act_min": act_min, "act_max": act_max, "gather": 0,
            "interleaved": 0,
        },
    )  # fmt: skip
    fn = "ts_depthwise_conv2d_s16" if depthwise else "ts_conv2d_s16"
    em.body.append(
        f"{fn}(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{em.const_array(ctx.name('filter'), 'int8_t', weights)}, "
        f"{em.const_array(ctx.name('bias'), 'int64_t', _bias64(ctx, 2, oc))}, "
        f"{em.const_array(ctx.name('multiplier'), 'int32_t', mults)}, "
        f"{em.const_array(ctx.name('shift'), 'int32_t', shifts)}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )
    em.macs += n * oh * ow * oc * kh * kw * (1 if depthwise else w.shape[3])


def conv2d16(ctx: OpContext) -> None:
    _conv16(ctx, depthwise=False)


def depthwise16(ctx: OpContext) -> None:
    _conv16(ctx, depthwise=True)


def fully_connected16(ctx: OpContext) -> None:
    """FULLY_CONNECTED 16x8: LiteRT's reference rescales each sum in double precision with
    input scale x filter scale / output scale (per output unit where the weights are)."""
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    _activation16(ctx, x, y)
    weights = _weights(ctx, w)
    if int(ctx.op.options.get("weights_format", 0)):
        raise ctx.fail("shuffled weights format is not supported")
    out_depth, depth = w.shape[0], w.shape[-1]
    if depth == 0 or x.elements % depth:
        raise ctx.fail("input size is not a multiple of the weights' depth")
    batches = x.elements // depth
    assert w.quantization is not None
    in_scale, out_scale = float(f32(quant(x)[0])), float(f32(quant(y)[0]))
    # In double, as the reference: input scale times filter scale, then over the output's.
    scales = [in_scale * float(f32(s)) / out_scale for s in w.quantization.scales]
    act_min, act_max = activation_range(ctx.activation(), quant(y)[0], 0, INT16_RANGE)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_fc_s16_params",
        {
            "batches": batches,
            "accum_depth": depth,
            "out_depth": out_depth,
            "per_channel": int(len(scales) > 1),
            "act_min": act_min,
            "act_max": act_max,
        },
    )
    em.body.append(
        f"ts_fully_connected_s16(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{em.const_array(ctx.name('filter'), 'int8_t', weights)}, "
        f"{em.const_array(ctx.name('bias'), 'int64_t', _bias64(ctx, 2, out_depth))}, "
        f"{em.const_array(ctx.name('scale'), 'double', np.array(scales))}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )
    em.macs += batches * out_depth * depth


def pool16(ctx: OpContext, kind: str) -> None:
    x, y = ctx.t(0), ctx.out()
    _activation16(ctx, x, y)
    n, ih, iw, c = shape4(x.shape)
    yn, oh, ow, yc = shape4(y.shape)
    opts = ctx.op.options
    kh, kw = int(opts["filter_height"]), int(opts["filter_width"])
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (1, 1), padding)
    if (n, c) != (yn, yc):
        raise ctx.fail(f"input {x.shape} and output {y.shape} disagree on batches or channels")
    if quant(x) != quant(y):
        raise ctx.fail("input and output quantization must be equal")
    pad_top, pad_left = window_padding(ctx, padding, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (1, 1))
    act_min, act_max = activation_range(ctx.activation(), quant(y)[0], 0, INT16_RANGE)
    params = ctx.em.const_struct(
        ctx.name("params"),
        "ts_pool_params",
        {
            "batches": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
            "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "pad_top": pad_top,
            "pad_left": pad_left, "act_min": act_min, "act_max": act_max,
        },
    )  # fmt: skip
    fn = "ts_average_pool_s16" if kind == "avg" else "ts_max_pool_s16"
    ctx.em.body.append(
        f"{fn}(&{params}, {ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _near_power_of_two(scale: float) -> bool:
    exponent = math.log2(scale) if scale > 0 else 0.5
    return abs(exponent - round(exponent)) < 1e-2


def add_sub16(ctx: OpContext) -> None:
    """ADD and SUB of int16 tensors on LiteRT's general-scale path (the int8 arithmetic with a
    left shift of 15). The power-of-two path LiteRT takes when the model asks for it and every
    scale is a power of two is refused (here with a margin around "is a power of two")."""
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    _activation16(ctx, a, b, y)
    if ctx.op.options.get("pot_scale_int16", True) and all(
        _near_power_of_two(quant(t)[0]) for t in (a, b, y)
    ):
        raise ctx.fail(
            "int16 scales that are powers of two (LiteRT's other path) are not supported"
        )
    params = binary_params(ctx, 15, INT16_RANGE)
    ctx.em.body.append(
        f"ts_binary_s16(&{params}, {ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[1], 'const int16_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


@cache
def _softmax_tables() -> tuple[np.ndarray, np.ndarray]:
    """LiteRT's softmax tables: exp on [-10, 0] and 1 / (1 + x) on [0, 1], both into [-1, 1]."""
    span = 65535
    exp = int16_lut(math.exp, 10.0 / span, 32767, 2.0 / span, 0)
    reciprocal = int16_lut(lambda v: 1.0 / (1.0 + v), 1.0 / span, -32768, 2.0 / span, 0)
    return exp, reciprocal


def softmax16(ctx: OpContext) -> None:
    x, y = ctx.t(0), ctx.out()
    _activation16(ctx, x, y)
    beta = float(ctx.op.options.get("beta", 1.0))
    # The input scale times beta in single precision, over the table's step in double.
    multiplier, left_shift = quantize_multiplier(
        float(np.float32(f32(quant(x)[0]) * f32(beta))) / (10.0 / 65535.0)
    )
    depth = x.shape[-1] if x.shape else 1
    exp, reciprocal = _softmax_tables()
    em = ctx.em
    em.body.append(
        f"ts_softmax_s16({x.elements // max(depth, 1)}, {depth}, {multiplier}, {left_shift}, "
        f"{em.const_array(ctx.name('exp_lut'), 'int16_t', exp)}, "
        f"{em.const_array(ctx.name('reciprocal_lut'), 'int16_t', reciprocal)}, "
        f"{em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )


def quantize16(ctx: OpContext) -> None:
    """QUANTIZE into int16: from float, or from int16 of another scale (the converter's
    requantization before a concatenation), as the reference's Requantize."""
    x, y = ctx.t(0), ctx.out()
    _activation16(ctx, y)
    scale, zero_point = quant(y)
    em = ctx.em
    if x.type_code == FLOAT32:
        em.body.append(
            f"ts_quantize_f32_s16({x.elements}, {c_float(scale)}, {zero_point}, "
            f"{em.tensor_ptr(ctx.op.inputs[0], 'const float')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
        return
    _activation16(ctx, x)
    multiplier, shift = quantize_multiplier(float(f32(quant(x)[0])) / float(f32(scale)))
    em.body.append(
        f"ts_requantize_s16({x.elements}, {multiplier}, {shift}, "
        f"{em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )


def dequantize16(ctx: OpContext) -> None:
    x, y = ctx.t(0), ctx.out()
    _require(ctx, x, INT16, "INT16")
    _require(ctx, y, FLOAT32, "FLOAT32 output")
    scale, zero_point = quant(x)
    ctx.em.body.append(
        f"ts_dequantize_s16_f32({x.elements}, {float(f32(scale)).hex()}, {zero_point}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int16_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0], 'float')});"
    )
