"""LiteRT run the way the device runs a model: reference kernels and the C's quantization."""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.compiler.tflite_reader import TfliteFormatError


def reference_interpreter(model: bytes, *, preserve_all_tensors: bool = False) -> Any:
    """A LiteRT interpreter of the `.tflite` `model` with its tensors allocated.

    It uses the reference kernels (BUILTIN_REF), which the generated C reproduces byte for
    byte; the default (XNNPACK / optimized) kernels round some int8 convolutions differently.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_content=bytes(model),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=preserve_all_tensors,
            num_threads=1,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        # LiteRT verifies the whole flatbuffer (alignment, string ends, ...), which the
        # compiler's reader does not repeat: a damaged file it reads may still be refused here.
        raise TfliteFormatError(f"LiteRT refuses the model: {str(exc).strip()}") from None
    return interpreter


def quantize_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """`x` in the type of the tensor `detail` (LiteRT's tensor details) as the device does it:
    q = roundf(x / scale) + zero_point in float32, halves away from zero, saturated."""
    if detail["dtype"] == np.float32:
        return np.asarray(x, dtype=np.float32)
    scale, zero_point = detail["quantization"]
    ratio = np.asarray(x, dtype=np.float32) / np.float32(scale)
    # float64 holds every float32 + 0.5 exactly, so truncating it is C's roundf.
    rounded = np.trunc(ratio.astype(np.float64) + np.copysign(0.5, ratio))
    info = np.iinfo(detail["dtype"])
    return np.clip(rounded + zero_point, info.min, info.max).astype(detail["dtype"])


def dequantize_output(q: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Float32 scores of the raw output `q` as the device computes them: (q - zp) * scale."""
    if detail["dtype"] == np.float32:
        return np.asarray(q, dtype=np.float32)
    scale, zero_point = detail["quantization"]
    return (q.astype(np.int32) - zero_point).astype(np.float32) * np.float32(scale)
