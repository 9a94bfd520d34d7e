"""Op handlers for element-wise arithmetic: binary ops, softmax, activations (as computed or
as 256-entry tables), quantize and dequantize."""

from __future__ import annotations

import numpy as np

from workers.compiler.emit import (
    FLOAT32,
    INT8,
    OpContext,
    broadcast_strides,
    c_float,
    quant,
    require_int8,
)
from workers.compiler.fixedpoint import hard_swish_table, leaky_relu_table
from workers.compiler.quantization import (
    INT8_RANGE,
    activation_range,
    activation_table,
    f32,
    quantize_multiplier,
    softmax_scaling,
)

# ts_binary_s8's op codes (TS_BINARY_* in ts_kernels.h).
BINARY_OPS = {"ADD": 0, "SUB": 1, "MUL": 2, "MAXIMUM": 3, "MINIMUM": 4, "PRELU": 5}


def binary(ctx: OpContext) -> None:
    """ADD, SUB, MUL, MAXIMUM and MINIMUM with broadcasting, as TFLite's reference computes
    them: ADD/SUB bring both inputs to twice the larger scale after a left shift of 20, MUL
    requantizes the product of the offset inputs, MAXIMUM/MINIMUM compare int8 values of one
    quantization."""
    require_int8(ctx, ctx.t(0), ctx.t(1), ctx.out())
    params = binary_params(ctx, 20, INT8_RANGE)
    ctx.em.body.append(
        f"ts_binary_s8(&{params}, {ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[1], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def binary_params(ctx: OpContext, add_shift: int, qrange: tuple[int, int]) -> str:
    """The ts_binary_params of a binary op whose ADD/SUB shift their inputs left by
    `add_shift` and whose outputs span `qrange`; returns the struct's name."""
    op = ctx.op.opcode
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    (s1, z1), (s2, z2), (so, zo) = quant(a), quant(b), quant(y)
    left_shift = 0
    m1 = sh1 = m2 = sh2 = mo = sho = 0
    if op in ("ADD", "SUB"):
        left_shift = add_shift
        twice_max = 2.0 * float(max(f32(s1), f32(s2)))
        m1, sh1 = quantize_multiplier(float(f32(s1)) / twice_max)
        m2, sh2 = quantize_multiplier(float(f32(s2)) / twice_max)
        mo, sho = quantize_multiplier(twice_max / float(np.float32((1 << left_shift) * f32(so))))
    elif op == "MUL":
        mo, sho = quantize_multiplier(float(f32(s1)) * float(f32(s2)) / float(f32(so)))
    elif op == "PRELU":
        # As LiteRT's prepare computes them, in single precision.
        m1, sh1 = quantize_multiplier(float(np.float32(f32(s1) / f32(so))))
        mo, sho = quantize_multiplier(float(np.float32(np.float32(f32(s1) * f32(s2)) / f32(so))))
    elif (s1, z1) != (so, zo) or (s2, z2) != (so, zo):
        raise ctx.fail("inputs and output must share one quantization (scale and zero point)")
    act_min, act_max = (
        activation_range(ctx.activation(), so, zo, qrange)
        if op in ("ADD", "SUB", "MUL")
        else qrange
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
        st1[:rank] = broadcast_strides(a.shape, y.shape)
        st2[:rank] = broadcast_strides(b.shape, y.shape)
    return ctx.em.const_struct(
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


def softmax(ctx: OpContext) -> None:
    x, y = ctx.t(0), ctx.out()
    require_int8(ctx, x, y)
    in_scale, _ = quant(x)
    out_scale, out_zp = quant(y)
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


def table_op(ctx: OpContext) -> None:
    """LOGISTIC, TANH, LEAKY_RELU and HARD_SWISH as 256-entry tables of what LiteRT's reference
    computes for each input byte."""
    x, y = ctx.t(0), ctx.out()
    require_int8(ctx, x, y)
    (si, zi), (so, zo) = quant(x), quant(y)
    if ctx.op.opcode in ("LOGISTIC", "TANH"):
        values = activation_table(ctx.op.opcode, si, zi, so, zo)
    elif ctx.op.opcode == "LEAKY_RELU":
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


def relu(ctx: OpContext, activation: str) -> None:
    x, y = ctx.t(0), ctx.out()
    require_int8(ctx, x, y)
    (si, zi), (so, zo) = quant(x), quant(y)
    mult, shift = quantize_multiplier(float(f32(si)) / float(f32(so)))
    act_min, act_max = activation_range(activation, so, zo)
    ctx.em.body.append(
        f"ts_relu_s8({x.elements}, {zi}, {zo}, {mult}, {shift}, {act_min}, {act_max}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0])});"
    )


def quantize(ctx: OpContext) -> None:
    x, y = ctx.t(0), ctx.out()
    em = ctx.em
    so, zo = quant(y)
    if y.type_code != INT8:
        raise ctx.fail(f"output type {y.type_name} is not supported (INT8 only)")
    if x.type_code == FLOAT32:
        em.body.append(
            f"ts_quantize_f32_s8({x.elements}, {c_float(so)}, {zo}, "
            f"{em.tensor_ptr(ctx.op.inputs[0], 'const float')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
    elif x.type_code == INT8:
        si, zi = quant(x)
        mult, shift = quantize_multiplier(float(f32(si)) / float(f32(so)))
        em.body.append(
            f"ts_requantize_s8({x.elements}, {zi}, {zo}, {mult}, {shift}, "
            f"{em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
            f"{em.tensor_ptr(ctx.op.outputs[0])});"
        )
    else:
        raise ctx.fail(f"input type {x.type_name} is not supported (FLOAT32 or INT8)")


def dequantize(ctx: OpContext) -> None:
    x, y = ctx.t(0), ctx.out()
    require_int8(ctx, x)
    if y.type_code != FLOAT32:
        raise ctx.fail(f"output type {y.type_name} is not supported (FLOAT32 only)")
    si, zi = quant(x)
    ctx.em.body.append(
        f"ts_dequantize_s8_f32({x.elements}, {float(f32(si)).hex()}, {zi}, "
        f"{ctx.em.tensor_ptr(ctx.op.inputs[0], 'const int8_t')}, "
        f"{ctx.em.tensor_ptr(ctx.op.outputs[0], 'float')});"
    )
