"""Op handlers for convolutions, fully connected layers and pooling: their parameters, their
filters laid out for the kernels' fast paths, and the kernel calls."""

from __future__ import annotations

import numpy as np

from workers.compiler.checks import check_window_output
from workers.compiler.emit import (
    OpContext,
    per_channel_multipliers,
    quant,
    require_int8,
    same_padding,
    shape4,
)
from workers.compiler.quantization import activation_range, f32, quantize_multiplier
from workers.compiler.tflite_reader import PADDINGS, Tensor

# Windows of at most this many bytes with rows shorter than GATHER_ROW_LIMIT are gathered
# (TS_CONV_GATHER_BYTES's default in ts_kernels.h; a model's C checks the value it builds with).
GATHER_WINDOW_LIMIT = 256
GATHER_ROW_LIMIT = 32

# Gathered windows of at most this many bytes take ts_conv2d_small_s8 (TS_SMALL_WINDOW).
SMALL_WINDOW = 12


def window_padding(
    ctx: OpContext,
    padding: str,
    size: tuple[int, int],
    out: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """(top, left) padding of a window sliding over `size` to give `out` positions."""
    if padding == "SAME":
        top, left = (
            same_padding(size[i], out[i], kernel[i], stride[i], dilation[i]) for i in (0, 1)
        )
        return top, left
    if padding == "VALID":
        return 0, 0
    raise ctx.fail(f"padding {padding} is not supported")


def _requantization(
    ctx: OpContext, x: Tensor, w: Tensor, y: Tensor, out_channels: int
) -> tuple[int, float, int, np.ndarray, np.ndarray]:
    """(input zero point, output scale, output zero point, per-channel multipliers, shifts) of
    a layer with symmetric int8 filters."""
    in_scale, in_zp = quant(x)
    out_scale, out_zp = quant(y)
    assert w.quantization is not None
    if np.any(w.quantization.zero_points != 0):
        raise ctx.fail("filter zero points must be 0")
    mults, shifts = per_channel_multipliers(
        in_scale, w.quantization.scales, out_scale, out_channels
    )
    return in_zp, out_scale, out_zp, mults, shifts


def _conv_like(ctx: OpContext, depthwise: bool) -> None:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    require_int8(ctx, x, w, y)
    if not w.is_constant:
        raise ctx.fail("filter must be a constant tensor")
    n, ih, iw, ic = shape4(x.shape)
    _, oh, ow, oc = shape4(y.shape)
    weights = w.array().astype(np.int64)
    kh, kw = w.shape[1], w.shape[2]
    opts = ctx.op.options
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    dh, dw = int(opts["dilation_h_factor"]), int(opts["dilation_w_factor"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(
        ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (dh, dw), padding
    )
    if len(w.shape) != 4 or w.shape[3 if depthwise else 0] != oc or shape4(y.shape)[0] != n:
        raise ctx.fail(f"filter {w.shape} and output {y.shape} disagree on the output channels")
    pad_top, pad_left = window_padding(
        ctx, padding, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (dh, dw)
    )
    in_zp, out_scale, out_zp, mults, shifts = _requantization(ctx, x, w, y, oc)
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


def conv2d(ctx: OpContext) -> None:
    _conv_like(ctx, depthwise=False)


def depthwise(ctx: OpContext) -> None:
    _conv_like(ctx, depthwise=True)


def fully_connected(ctx: OpContext) -> None:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    require_int8(ctx, x, w, y)
    if not w.is_constant:
        raise ctx.fail("weights must be a constant tensor")
    if int(ctx.op.options.get("weights_format", 0)):
        raise ctx.fail("shuffled weights format is not supported")
    out_depth, depth = w.shape[0], w.shape[-1]
    if x.elements % depth:
        raise ctx.fail("input size is not a multiple of the weights' depth")
    batches = x.elements // depth
    in_scale, in_zp = quant(x)
    out_scale, out_zp = quant(y)
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
        mults, shifts = per_channel_multipliers(
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


def pool(ctx: OpContext, kind: str) -> None:
    x, y = ctx.t(0), ctx.out()
    require_int8(ctx, x, y)
    n, ih, iw, c = shape4(x.shape)
    _, oh, ow, _ = shape4(y.shape)
    opts = ctx.op.options
    kh, kw = int(opts["filter_height"]), int(opts["filter_width"])
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    padding = PADDINGS.get(int(opts["padding"]), "?")
    check_window_output(ctx.model, ctx.op, (ih, iw), (oh, ow), (kh, kw), (sh, sw), (1, 1), padding)
    if (n, c) != (shape4(y.shape)[0], shape4(y.shape)[3]):
        raise ctx.fail(f"input {x.shape} and output {y.shape} disagree on batches or channels")
    pad_top = same_padding(ih, oh, kh, sh, 1) if padding == "SAME" else 0
    pad_left = same_padding(iw, ow, kw, sw, 1) if padding == "SAME" else 0
    if quant(x) != quant(y):
        raise ctx.fail("input and output quantization must be equal")
    out_scale, out_zp = quant(y)
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


def transpose_conv(ctx: OpContext) -> None:
    """TRANSPOSE_CONV (inputs: output shape, OHWI filter, input, optional bias), computed per
    output as the sum over the input pixels whose strided footprint covers it."""
    w, x, y = ctx.t(1), ctx.t(2), ctx.out()
    require_int8(ctx, x, w, y)
    if not w.is_constant:
        raise ctx.fail("filter must be a constant tensor")
    n, ih, iw, ic = shape4(x.shape)
    _, oh, ow, oc = shape4(y.shape)
    if len(w.shape) != 4 or w.shape[0] != oc or w.shape[3] != ic:
        raise ctx.fail(f"filter {w.shape} disagrees with input {x.shape} and output {y.shape}")
    kh, kw = w.shape[1], w.shape[2]
    opts = ctx.op.options
    sh, sw = int(opts["stride_h"]), int(opts["stride_w"])
    if sh < 1 or sw < 1:
        raise ctx.fail(f"strides {sh}x{sw} are not supported")
    padding = PADDINGS.get(int(opts["padding"]), "?")
    # As LiteRT computes it: the padding of a convolution from the output back to the input.
    pad_top, pad_left = window_padding(ctx, padding, (oh, ow), (ih, iw), (kh, kw), (sh, sw), (1, 1))
    in_zp, out_scale, out_zp, mults, shifts = _requantization(ctx, x, w, y, oc)
    has_bias = ctx.has_input(3)
    if has_bias and ctx.t(3).type_code != 2:
        raise ctx.fail(f"bias type {ctx.t(3).type_name} is not supported (INT32 only)")
    bias = ctx.t(3).array().reshape(-1) if has_bias else np.zeros(oc, dtype=np.int64)
    act_min, act_max = activation_range(ctx.activation(), out_scale, out_zp)
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_transpose_conv_params",
        {
            "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow,
            "out_c": oc, "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw,
            "pad_top": pad_top, "pad_left": pad_left, "input_offset": -in_zp,
            "output_offset": out_zp, "act_min": act_min, "act_max": act_max,
        },
    )  # fmt: skip
    em.body.append(
        f"ts_transpose_conv_s8(&{params}, {em.tensor_ptr(ctx.op.inputs[2], 'const int8_t')}, "
        f"{em.tensor_ptr(ctx.op.inputs[1], 'const int8_t')}, "
        f"{em.const_array(ctx.name('bias'), 'int32_t', bias)}, "
        f"{em.const_array(ctx.name('multiplier'), 'int32_t', mults)}, "
        f"{em.const_array(ctx.name('shift'), 'int32_t', shifts)}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )
    em.macs += n * ih * iw * kh * kw * ic * oc
