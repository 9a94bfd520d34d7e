"""TFLite's quantization arithmetic done at compile time: multipliers, shifts, ranges, tables."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable
from functools import cache

import numpy as np


def tflite_round(value: float) -> int:
    """std::round: halves go away from zero. From the floor and the exact fraction above it,
    since abs(value) + 0.5 itself rounds up just below a half (0.49999999999999994)."""
    floor = math.floor(value)
    fraction = value - floor
    return int(floor + 1 if fraction > 0.5 or (fraction == 0.5 and value > 0) else floor)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: a Q31 significand and a power-of-two exponent."""
    if real_multiplier == 0.0:
        return 0, 0
    significand, shift = math.frexp(real_multiplier)
    q_fixed = tflite_round(significand * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"multiplier {real_multiplier} cannot be quantized")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    # Shifts below -31 would shift every bit out; TFLite encodes that as a zero multiplier.
    if shift < -31:
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def f32(value: float) -> np.float32:
    """A Python float rounded to single precision, as C++ `float` holds it."""
    return np.float32(value)


def softmax_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling and CalculateInputRadius for int8 SOFTMAX (5 integer bits).

    Returns the input multiplier, its left shift and diff_min.
    """
    integer_bits = 5
    real = min(
        float(f32(beta)) * float(f32(input_scale)) * float(1 << (31 - integer_bits)),
        float((1 << 31) - 1),
    )
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError("softmax input multiplier below one is not supported")
    max_input_rescaled = (
        1.0 * ((1 << integer_bits) - 1) * float(1 << (31 - integer_bits)) / float(1 << left_shift)
    )
    diff_min = -math.floor(max_input_rescaled)
    return multiplier, left_shift, int(diff_min)


INT8_RANGE = (-128, 127)
INT16_RANGE = (-32768, 32767)


def activation_range(
    activation: str, scale: float, zero_point: int, qrange: tuple[int, int] = INT8_RANGE
) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for outputs of the integer type spanning `qrange`."""
    qmin, qmax = qrange

    def quantize(x: float) -> int:
        return zero_point + tflite_round(float(f32(x) / f32(scale)))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(f"fused activation {activation} is not supported")


@cache
def _libm() -> ctypes.CDLL:
    name = ctypes.util.find_library("m") or "libm.so.6"
    lib = ctypes.CDLL(name)
    for name in ("expf", "tanhf"):
        getattr(lib, name).restype = ctypes.c_float
        getattr(lib, name).argtypes = [ctypes.c_float]
    return lib


def expf(x: np.float32) -> np.float32:
    """The C library's single-precision exp, the one TFLite's host build calls."""
    return np.float32(_libm().expf(ctypes.c_float(float(x)).value))


def tanhf(x: np.float32) -> np.float32:
    """The C library's single-precision tanh."""
    return np.float32(_libm().tanhf(ctypes.c_float(float(x)).value))


def softmax_exp_table(input_scale: float, beta: float) -> np.ndarray:
    """TFLite's PopulateSoftmaxLookupTable: table[255 - d] = expf(-input_scale * beta * d)."""
    scale = np.float32(-f32(input_scale) * f32(beta))
    table = np.zeros(256, dtype=np.float32)
    for d in range(256):
        table[255 - d] = expf(np.float32(scale * np.float32(d)))
    return table


def activation_table(
    function: str,
    input_scale: float,
    input_zero_point: int,
    output_scale: float,
    output_zero_point: int,
) -> np.ndarray:
    """TFLite's int8 lookup table for LOGISTIC or TANH, indexed by the input byte.

    Each entry is computed in single precision as TFLite does: dequantize, apply the function
    (with the C library's expf/tanhf), rescale, round half away from zero, add the zero point.
    """
    inverse_scale = np.float32(np.float32(1.0) / f32(output_scale))
    table = np.zeros(256, dtype=np.int8)
    one = np.float32(1.0)
    for val in range(-128, 128):
        dequantized = np.float32(f32(input_scale) * np.float32(val - input_zero_point))
        if function == "LOGISTIC":
            transformed = np.float32(one / np.float32(one + expf(np.float32(-dequantized))))
        elif function == "TANH":
            transformed = tanhf(dequantized)
        else:
            raise ValueError(f"no lookup table for {function}")
        rescaled = np.float32(tflite_round(float(np.float32(transformed * inverse_scale))))
        quantized = int(np.float32(rescaled + np.float32(output_zero_point)))
        table[val & 0xFF] = max(-128, min(127, quantized))
    return table


def int16_lut(
    transform: Callable[[float], float],
    input_scale: float,
    input_zero_point: int,
    output_scale: float,
    output_zero_point: int,
) -> np.ndarray:
    """LiteRT's 513-entry int16 table (LUTPopulate<int16_t> in double precision): `transform`
    sampled at 512 steps over the input range, each sample moved by half the error that
    interpolating to the step's midpoint would make, and the input range's end."""
    input_min = input_scale * (-32768 - input_zero_point)
    input_max = input_scale * (32767 - input_zero_point)
    output_min = output_scale * (-32768 - output_zero_point)
    output_max = output_scale * (32767 - output_zero_point)
    steps = 512
    step = (input_max - input_min) / steps
    half_step = step / 2
    inverse = 65536.0 / (output_max - output_min)
    table = np.zeros(steps + 1, dtype=np.int16)
    for i in range(steps):
        value = transform(input_min + i * step)
        midpoint = transform(input_min + i * step + half_step)
        following = transform(input_min + (i + 1) * step)
        sample = tflite_round(value * inverse)
        interpolated = tflite_round((following * inverse + tflite_round(value * inverse)) / 2)
        error = interpolated - tflite_round(midpoint * inverse)
        table[i] = min(max(sample - tflite_round(error / 2), -32768), 32767)
    table[steps] = min(max(tflite_round(transform(input_max) * inverse), -32768), 32767)
    return table
