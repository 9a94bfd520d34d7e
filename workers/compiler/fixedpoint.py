"""gemmlowp's fixed-point arithmetic in Python, for int8 ops the compiler turns into 256-entry
tables at compile time (LEAKY_RELU, HARD_SWISH): each entry is what LiteRT's reference kernel
computes for that input byte, so a lookup is bit-exact by construction."""

from __future__ import annotations

import numpy as np

from workers.compiler.quantization import f32, quantize_multiplier

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _wrap(value: int, bits: int) -> int:
    """`value` as a two's-complement integer of `bits` bits (a C cast)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _trunc_div(a: int, b: int) -> int:
    """C's integer division: toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm(a: int, b: int, bits: int = 32) -> int:
    """SaturatingRoundingDoublingHighMul on `bits`-bit integers."""
    low = -(1 << (bits - 1))
    if a == b == low:
        return (1 << (bits - 1)) - 1
    ab = a * b
    nudge = (1 << (bits - 2)) if ab >= 0 else 1 - (1 << (bits - 2))
    return _wrap(_trunc_div(ab + nudge, 1 << (bits - 1)), bits)


def rdbpot(x: int, exponent: int, bits: int = 32) -> int:
    """RoundingDivideByPOT: x / 2^exponent, halves away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return _wrap((x >> exponent) + (1 if remainder > threshold else 0), bits)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier (double rounding), as the reference kernels use it."""
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(_wrap(x * (1 << left), 32), multiplier), right)


def _table(function) -> np.ndarray:  # type: ignore[no-untyped-def]
    table = np.zeros(256, dtype=np.int8)
    for value in range(-128, 128):
        table[value & 0xFF] = max(-128, min(127, function(value)))
    return table


def leaky_relu_table(
    alpha: float, input_scale: float, input_zero: int, output_scale: float, output_zero: int
) -> np.ndarray:
    """LEAKY_RELU: identity and alpha multipliers from single-precision scales (as LiteRT's
    prepare computes them), the input's sign choosing between them."""
    identity = quantize_multiplier(float(np.float32(f32(input_scale) / f32(output_scale))))
    scaled = np.float32(np.float32(f32(input_scale) * f32(alpha)) / f32(output_scale))
    sloped = quantize_multiplier(float(scaled))

    def apply(value: int) -> int:
        x = value - input_zero
        return output_zero + mbqm(x, *(identity if x >= 0 else sloped))

    return _table(apply)


def _downscale_to_int16(multiplier: int) -> int:
    """DownScaleInt32ToInt16Multiplier: the Q31 multiplier rounded to Q15."""
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


def _saturating_left_shift16(value: int, amount: int) -> int:
    return max(INT16_MIN, min(INT16_MAX, value * (1 << amount)))


def _doubling_high_mul16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul on int16: rounding toward zero."""
    if a == b == INT16_MIN:
        return INT16_MAX
    return _wrap(_trunc_div(a * b, 1 << 15), 16)


def hard_swish_table(
    input_scale: float, input_zero: int, output_scale: float, output_zero: int
) -> np.ndarray:
    """HARD_SWISH in LiteRT's reference int16 fixed point: the input on a 2^7 finer scale, a
    "relu-ish" factor in [0, 1] from its position in [-3, 3], their product rescaled."""
    hires = np.float32(np.float32(1.0 / 128.0) * f32(input_scale))
    out_mult, out_exponent = quantize_multiplier(float(np.float32(hires / f32(output_scale))))
    relu_mult, relu_exponent = quantize_multiplier(
        float(np.float32(hires / np.float32(3.0 / 32768.0)))
    )
    if out_exponent > 0:
        raise ValueError("HARD_SWISH output multiplier above one is not supported")
    out16, relu16 = _downscale_to_int16(out_mult), _downscale_to_int16(relu_mult)

    def apply(value: int) -> int:
        hires_value = _wrap((value - input_zero) * (1 << 7), 16)
        preshift_output = srdhm(hires_value, out16, 16)
        reluish = hires_value
        if relu_exponent > 0:
            reluish = _saturating_left_shift16(reluish, relu_exponent - 1)
        reluish = srdhm(reluish, relu16, 16)
        if relu_exponent > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exponent < 0:
            reluish = rdbpot(reluish, -relu_exponent, 16)
        reluish = _wrap((reluish + (1 << 15)) >> 1, 16)
        product = _doubling_high_mul16(reluish, preshift_output)
        return _wrap(rdbpot(product, -out_exponent, 16) + output_zero, 16)

    return _table(apply)
