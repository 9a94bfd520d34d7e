"""The BATCH_MATMUL handler: shapes and broadcast batches checked as LiteRT's prepare checks them,
each output matrix's operands located by offsets computed here, one requantization."""

from __future__ import annotations

import numpy as np

from workers.compiler.emit import OpContext, quant, require_int8
from workers.compiler.quantization import f32, quantize_multiplier
from workers.compiler.tflite_reader import Tensor


def _batch_offsets(
    batch_shape: tuple[int, ...], out_batch: tuple[int, ...], matrix: int
) -> np.ndarray:
    """The element offset of the operand's matrix for every output matrix, in order: the
    operand's batch index broadcast over the output's batch dimensions."""
    count = int(np.prod(batch_shape, dtype=np.int64))
    index = np.arange(count, dtype=np.int64).reshape(batch_shape)
    return np.broadcast_to(index, out_batch).reshape(-1) * matrix


def _broadcast_batches(
    ctx: OpContext, lhs: tuple[int, ...], rhs: tuple[int, ...]
) -> tuple[int, ...]:
    """The output's batch dimensions: equal dimensions, or one of them 1 (LiteRT's rule)."""
    rank = max(len(lhs), len(rhs))
    lhs_full = (1,) * (rank - len(lhs)) + lhs
    rhs_full = (1,) * (rank - len(rhs)) + rhs
    found = []
    for a, b in zip(lhs_full, rhs_full, strict=True):
        if a != b and 1 not in (a, b):
            raise ctx.fail(f"batch dimensions {lhs} and {rhs} do not broadcast")
        found.append(b if a == 1 else a)
    return tuple(found)


def _single_scale(ctx: OpContext, t: Tensor) -> None:
    if t.quantization is None or t.quantization.scales.size != 1:
        raise ctx.fail(f"tensor {t.name!r} must have one scale (per-tensor quantization)")


def batch_matmul(ctx: OpContext) -> None:
    """BATCH_MATMUL of int8 operands (either may be a constant), adj_x and adj_y transposing
    the last two dimensions of the left and right one, batch dimensions broadcast."""
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    require_int8(ctx, x, w, y)
    for t in (x, w, y):
        _single_scale(ctx, t)
    if not 2 <= len(x.shape) <= 5 or not 2 <= len(w.shape) <= 5:
        raise ctx.fail(f"operands {x.shape} and {w.shape} must have 2 to 5 dimensions")
    adj_x = bool(ctx.op.options.get("adj_x", False))
    adj_y = bool(ctx.op.options.get("adj_y", False))
    rows, depth = (x.shape[-1], x.shape[-2]) if adj_x else (x.shape[-2], x.shape[-1])
    rhs_depth, cols = (w.shape[-1], w.shape[-2]) if adj_y else (w.shape[-2], w.shape[-1])
    if depth != rhs_depth:
        raise ctx.fail(f"operands {x.shape} and {w.shape} disagree on the depth")
    out_batch = _broadcast_batches(ctx, x.shape[:-2], w.shape[:-2])
    if y.shape != (*out_batch, rows, cols):
        raise ctx.fail(
            f"output {y.shape} disagrees with the {(*out_batch, rows, cols)} its operands give"
        )
    (sx, zx), (sw, zw), (sy, zy) = quant(x), quant(w), quant(y)
    # GetQuantizedConvolutionMultipler: the scales' product in float, the division in double.
    multiplier, shift = quantize_multiplier(float(np.float32(f32(sx) * f32(sw))) / float(f32(sy)))
    em = ctx.em
    rhs_col, rhs_step = (depth, 1) if adj_y else (1, cols)
    if w.is_constant and not adj_y:
        # Stored column by column, so each output's products run over contiguous bytes.
        rhs_ptr = em.const_array(ctx.name("rhs"), "int8_t", np.swapaxes(w.array(), -1, -2))
        rhs_col, rhs_step = depth, 1
    else:
        rhs_ptr = em.tensor_ptr(ctx.op.inputs[1], "const int8_t")
    params = em.const_struct(
        ctx.name("params"),
        "ts_batch_matmul_params",
        {
            "batches": int(np.prod(out_batch, dtype=np.int64)),
            "rows": rows,
            "cols": cols,
            "depth": depth,
            "lhs_row_stride": 1 if adj_x else depth,
            "lhs_depth_stride": rows if adj_x else 1,
            "rhs_col_stride": rhs_col,
            "rhs_depth_stride": rhs_step,
            "lhs_offset": -zx,
            "rhs_offset": -zw,
            "output_offset": zy,
            "multiplier": multiplier,
            "shift": shift,
            "act_min": -128,
            "act_max": 127,
        },
    )
    lhs_batches = _batch_offsets(x.shape[:-2], out_batch, rows * depth)
    rhs_batches = _batch_offsets(w.shape[:-2], out_batch, depth * cols)
    em.body.append(
        f"ts_batch_matmul_s8(&{params}, "
        f"{em.const_array(ctx.name('lhs_batches'), 'int32_t', lhs_batches)}, "
        f"{em.const_array(ctx.name('rhs_batches'), 'int32_t', rhs_batches)}, "
        f"{em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, {rhs_ptr}, "
        f"{em.tensor_ptr(ctx.op.outputs[0])});"
    )
    em.macs += int(np.prod(out_batch, dtype=np.int64)) * rows * cols * depth
