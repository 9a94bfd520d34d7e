"""Op handlers that move or reduce data: views, padding, concatenation, transpose, split, mean
and resizing."""

from __future__ import annotations

import math

import numpy as np

from workers.compiler.emit import FLOAT32, INT8, INT16, OpContext, quant, require_int8, shape4
from workers.compiler.quantization import f32, quantize_multiplier, tflite_round


def view(ctx: OpContext) -> None:
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


def pad(ctx: OpContext) -> None:
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
            value = quant(y)[1]
        pad_value = em.const_array(ctx.name("pad_value"), "int8_t", np.array([value]))
    else:
        value_f = float(ctx.t(2).array().reshape(-1)[0]) if ctx.has_input(2) else 0.0
        pad_value = em.const_array(ctx.name("pad_value"), "float", np.array([value_f]))
    params = em.const_struct(
        ctx.name("params"),
        "ts_pad_params",
        {
            "in_dims": list(shape4(x.shape)),
            "out_dims": list(shape4(y.shape)),
            "before": before,
            "elem_bytes": x.dtype.itemsize,
        },
    )
    em.body.append(
        f"ts_pad(&{params}, {em.tensor_ptr(ctx.op.inputs[0], 'const void')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0], 'void')}, {pad_value});"
    )


def _axis_copies(ctx: OpContext, whole: int, parts: list[int], axis: int, gather: bool) -> None:
    """Copies between the tensor `whole` and its `parts` along `axis`, each part a run of
    blocks of the whole: into the whole (`gather`, CONCATENATION) or out of it (SPLIT)."""
    em = ctx.em
    big = ctx.model.tensors[whole]
    eb = big.dtype.itemsize
    outer = int(np.prod(big.shape[:axis], dtype=np.int64)) if axis else 1
    stride = int(np.prod(big.shape[axis:], dtype=np.int64)) * eb
    offset = 0
    for index in parts:
        part = ctx.model.tensors[index]
        if part.type_code != big.type_code:
            raise ctx.fail("inputs and outputs must have the same type")
        if big.type_code in (INT8, INT16) and quant(part) != quant(big):
            raise ctx.fail("inputs and outputs must share one quantization")
        block = int(np.prod(part.shape[axis:], dtype=np.int64)) * eb
        if gather:
            source = em.tensor_ptr(index, "const uint8_t")
            target = f"{em.tensor_ptr(whole, 'uint8_t')} + {offset}"
            strides = f"{block}, {stride}"
        else:
            source = f"{em.tensor_ptr(whole, 'const uint8_t')} + {offset}"
            target = em.tensor_ptr(index, "uint8_t")
            strides = f"{stride}, {block}"
        em.body.append(f"ts_copy_blocks({outer}, {block}, {strides}, {source}, {target});")
        offset += block


def concatenation(ctx: OpContext) -> None:
    y = ctx.out()
    axis = int(ctx.op.options.get("axis", 0))
    if axis < 0:
        axis += len(y.shape)
    if ctx.activation() != "NONE":
        raise ctx.fail("fused activation on concatenation is not supported")
    _axis_copies(ctx, ctx.op.outputs[0], list(ctx.op.inputs), axis, gather=True)


def transpose(ctx: OpContext) -> None:
    x, perm_t, y = ctx.t(0), ctx.t(1), ctx.out()
    require_int8(ctx, x, y)
    if not perm_t.is_constant:
        raise ctx.fail("the permutation must be a constant tensor")
    rank = len(x.shape)
    perm = [int(p) % max(rank, 1) for p in perm_t.array().reshape(-1)]
    if rank > 6 or sorted(perm) != list(range(rank)):
        raise ctx.fail(f"permutation {perm} of {rank} dimensions is not supported")
    if quant(x) != quant(y):
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


def split(ctx: OpContext) -> None:
    """SPLIT (axis tensor first) and SPLIT_V (sizes and axis after the input): each output is
    a run of blocks of the input along the axis."""
    data = 1 if ctx.op.opcode == "SPLIT" else 0
    axis_t = ctx.t(0) if data == 1 else ctx.t(2)
    if not axis_t.is_constant:
        raise ctx.fail("the axis must be a constant tensor")
    axis = int(axis_t.array().reshape(-1)[0]) % len(ctx.t(data).shape)
    _axis_copies(ctx, ctx.op.inputs[data], list(ctx.op.outputs), axis, gather=False)


def mean(ctx: OpContext) -> None:
    """MEAN of int8 or int16 (16x8 models) over constant axes, as QuantizedMeanOrSum."""
    x, axes_t, y = ctx.t(0), ctx.t(1), ctx.out()
    wide = x.type_code == INT16
    if not wide:
        require_int8(ctx, x, y)
    elif y.type_code != INT16:
        raise ctx.fail(f"output {y.name!r} has type {y.type_name}; its input is INT16")
    if not axes_t.is_constant:
        raise ctx.fail("axes must be a constant tensor")
    rank = len(x.shape)
    if rank > 6:
        raise ctx.fail("more than 6 dimensions are not supported")
    axes = sorted({int(a) % rank for a in axes_t.array().reshape(-1)})
    strides = [int(np.prod(x.shape[d + 1 :], dtype=np.int64)) for d in range(rank)]
    kept = [d for d in range(rank) if d not in axes]
    count = int(np.prod([x.shape[d] for d in axes], dtype=np.int64)) if axes else 1
    (si, zi), (so, zo) = quant(x), quant(y)
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
    ctype = "int16_t" if wide else "int8_t"
    em.body.append(
        f"ts_mean_s{16 if wide else 8}(&{params}, "
        f"{em.tensor_ptr(ctx.op.inputs[0], f'const {ctype}')}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )


def _nearest(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> list[int]:
    """LiteRT's GetNearestNeighbor for every output index, in single precision as it computes."""
    if align_corners and out_size > 1:
        scale = np.float32(np.float32(in_size - 1) / np.float32(out_size - 1))
    else:
        scale = np.float32(np.float32(in_size) / np.float32(out_size))
    offset = np.float32(0.5 if half_pixel else 0.0)
    found = []
    for index in range(out_size):
        position = float(np.float32(np.float32(np.float32(index) + offset) * scale))
        value = tflite_round(position) if align_corners else math.floor(position)
        value = min(value, in_size - 1)
        found.append(max(0, value) if half_pixel else value)
    return found


def _bilinear(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> list[int]:
    """LiteRT's ResizeBilinearInteger for every output index, in its 10-bit fixed point: the
    lower and upper input index and the upper one's weight out of 1024, three per index."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    found = []
    for index in range(out_size):
        scaled = index * scale + scale // 2 - (1 << 9) if half_pixel else index * scale
        # C's division truncates toward zero; `scaled` may be negative with half-pixel centers.
        lower = max(int(scaled / (1 << 10)), 0)
        upper = min(int((scaled + (1 << 10) - 1) / (1 << 10)), in_size - 1)
        if lower > in_size - 1:
            raise ValueError(f"output index {index} would read input index {lower} of {in_size}")
        found += [lower, upper, scaled - (1 << 10) * lower]
    return found


def resize(ctx: OpContext) -> None:
    """RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR: index maps (and weights) computed here as
    LiteRT computes them, for a kernel that only gathers (and blends) pixels."""
    x, size_t, y = ctx.t(0), ctx.t(1), ctx.out()
    require_int8(ctx, x, y)
    if not size_t.is_constant:
        raise ctx.fail("the output size must be a constant tensor")
    if quant(x) != quant(y):
        raise ctx.fail("input and output must share one quantization")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise ctx.fail(f"input {x.shape} and output {y.shape} must have 4 dimensions")
    n, ih, iw, depth = x.shape
    size = [int(v) for v in size_t.array().reshape(-1)]
    if size != [y.shape[1], y.shape[2]] or (n, depth) != (y.shape[0], y.shape[3]):
        raise ctx.fail(f"output {y.shape} disagrees with input {x.shape} and size {size}")
    _, oh, ow, _ = y.shape
    if min(ih, iw, oh, ow) < 1:
        raise ctx.fail(f"input {x.shape} and output {y.shape} must not be empty")
    align = bool(ctx.op.options.get("align_corners", False))
    half = bool(ctx.op.options.get("half_pixel_centers", False))
    if align and half:
        raise ctx.fail("align_corners and half_pixel_centers cannot both be set")
    bilinear = ctx.op.opcode == "RESIZE_BILINEAR"
    index_map = _bilinear if bilinear else _nearest
    try:
        rows, columns = index_map(oh, ih, align, half), index_map(ow, iw, align, half)
    except ValueError as exc:
        raise ctx.fail(f"LiteRT would read outside the input: {exc}") from None
    em = ctx.em
    params = em.const_struct(
        ctx.name("params"),
        "ts_resize_params",
        {"batches": n, "in_h": ih, "in_w": iw, "depth": depth, "out_h": oh, "out_w": ow},
    )
    ymap = em.const_array(ctx.name("ymap"), "int32_t", np.array(rows))
    xmap = em.const_array(ctx.name("xmap"), "int32_t", np.array(columns))
    fn = "ts_resize_bilinear_s8" if bilinear else "ts_resize_nearest_s8"
    em.body.append(
        f"{fn}(&{params}, {ymap}, {xmap}, "
        f"{em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, {em.tensor_ptr(ctx.op.outputs[0])});"
    )
