"""Full-integer int8 post-training quantization of a trained Keras model, and tflite op lists."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from workers.compiler.litert import reference_interpreter
from workers.learn.base import LearnParamError

# Operators the TinyStudio C compiler implements; every converted model must stay within them.
DEVICE_OPS = frozenset(
    {
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "EXPAND_DIMS",
        "FULLY_CONNECTED",
        "LOGISTIC",
        "MAX_POOL_2D",
        "MEAN",
        "PAD",
        "RESHAPE",
        "SOFTMAX",
        "SQUEEZE",
    }
)
# Representative windows the converter calibrates activation ranges on.
MAX_REPRESENTATIVE = 300


def quantize_int8(
    model: bytes | Any,
    representative: np.ndarray,
    *,
    max_samples: int = MAX_REPRESENTATIVE,
    seed: int = 0,
) -> bytes:
    """The int8 `.tflite` of `model` (`.keras` bytes or a Keras model): int8 weights,
    activations, input and output (TFLITE_BUILTINS_INT8 only), calibrated on at most
    `max_samples` windows drawn (with `seed`) from `representative` (n, ...) training features."""
    from workers.learn.training import import_tensorflow, load_keras, tflite_converter

    representative = np.asarray(representative, dtype=np.float32)
    if representative.ndim < 2 or representative.shape[0] == 0:
        raise LearnParamError("representative", "needs at least one window of features")
    flat: np.ndarray = representative.reshape(representative.shape[0], -1)
    if flat.shape[0] > max_samples:
        pick = np.random.default_rng(seed).choice(flat.shape[0], max_samples, replace=False)
        flat = flat[np.sort(pick)]

    tf = import_tensorflow()
    keras_model = load_keras(bytes(model)) if isinstance(model, bytes | bytearray) else model
    expected = int(np.prod(keras_model.input_shape[1:]))
    if flat.shape[1] != expected:
        raise LearnParamError(
            "representative", f"windows of {flat.shape[1]} features; the model takes {expected}"
        )

    def windows() -> Any:
        for row in flat:
            yield [row[None, :]]

    converter = tflite_converter(tf, keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = windows
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # The converter prints its progress to stdout; the worker's log wants none of it.
    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(converter.convert())


def tflite_ops(tflite: bytes) -> list[str]:
    """The distinct builtin operators of a `.tflite` model, sorted (e.g. ["CONV_2D", ...])."""
    interpreter = reference_interpreter(tflite)
    # _get_ops_details is the only public-ish view of the graph that LiteRT's Python API offers.
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})
