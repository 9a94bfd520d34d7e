"""Float models (a float `.tflite`, a Keras `.keras` or `.h5` file) quantized to a fully int8
`.tflite` with representative inputs, and how closely the int8 model follows the float one on
those inputs. TensorFlow is imported inside the functions: only workers call them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# Inputs the converter calibrates on (the first ones, up to this many).
CALIBRATION_INPUTS = 500
# Inputs the float and int8 models are compared on.
AGREEMENT_INPUTS = 200


class QuantizeError(ValueError):
    """The model or its representative inputs cannot be quantized, in words."""


def representative_inputs(data: np.ndarray, shape: list[int]) -> np.ndarray:
    """`data` as float32 inputs of the model's input shape (batch 1 each): [n, *shape[1:]], from
    any [n, ...] with as many values per input; QuantizeError naming both shapes."""
    per_input = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    if data.ndim < 1 or data.shape[0] < 1:
        raise QuantizeError("the representative .npy holds no inputs")
    if not np.issubdtype(data.dtype, np.number):
        raise QuantizeError(f"the representative .npy holds {data.dtype}, not numbers")
    values = int(np.prod(data.shape[1:], dtype=np.int64)) if data.ndim > 1 else 1
    if values != per_input:
        raise QuantizeError(
            f"the representative .npy is shaped {list(data.shape)}: each input needs "
            f"{per_input} values (the model's input is {shape})"
        )
    out = data.astype(np.float32).reshape([data.shape[0], *shape[1:]])
    if not np.isfinite(out).all():
        raise QuantizeError("the representative .npy holds NaN or infinite values")
    return out


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _keras_model(source: bytes, fmt: str) -> Any:
    import keras

    with tempfile.TemporaryDirectory(prefix="tinystudio-byo-") as tmp:
        path = Path(tmp) / f"model.{fmt}"
        path.write_bytes(source)
        try:
            return keras.models.load_model(path, compile=False)
        except Exception as exc:  # Keras raises many kinds for a file it cannot read
            raise QuantizeError(f"Keras cannot load this .{fmt} file: {exc}") from None


@contextmanager
def _converter_source(source: bytes, fmt: str) -> Iterator[Callable[[], Any]]:
    """A maker of fresh converters of a Keras model ("keras", "h5") or of a zipped SavedModel
    ("savedmodel", unpacked for as long as the converters need it)."""
    tf = _tf()
    if fmt == "savedmodel":
        from workers.byo.saved_model import unpack

        with tempfile.TemporaryDirectory(prefix="tinystudio-savedmodel-") as tmp:
            folder = unpack(source, Path(tmp))
            try:
                tf.lite.TFLiteConverter.from_saved_model(str(folder))
            except Exception as exc:  # TensorFlow raises many kinds for a folder it cannot load
                raise QuantizeError(f"TensorFlow cannot load this SavedModel: {exc}") from None
            yield lambda: tf.lite.TFLiteConverter.from_saved_model(str(folder))
        return
    model = _keras_model(source, fmt)
    yield lambda: tf.lite.TFLiteConverter.from_keras_model(model)


def _input_shape(float_model: bytes) -> list[int]:
    detail = _tf().lite.Interpreter(model_content=float_model).get_input_details()
    if len(detail) != 1:
        raise QuantizeError(f"the model has {len(detail)} inputs; TinyStudio quantizes one")
    return [int(d) for d in detail[0]["shape"]]


def _calibration(inputs: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    def generate() -> Iterator[list[np.ndarray]]:
        for row in inputs[:CALIBRATION_INPUTS]:
            yield [row[None, ...]]

    return generate


def quantize(source: bytes, fmt: str, data: np.ndarray) -> tuple[bytes, bytes, dict[str, Any]]:
    """(int8 `.tflite`, float `.tflite`, report) for a float model in `fmt` ("tflite", "keras",
    "h5" or "savedmodel", a zipped SavedModel folder), calibrated on `data` (any array of whole
    inputs, see representative_inputs). A Keras model or SavedModel is converted as the studio
    converts its own; a float `.tflite` is calibrated and quantized by LiteRT's post-training
    quantizer directly (no converter takes flatbuffers in)."""
    tf = _tf()
    try:
        if fmt == "tflite":
            float_model = source
            inputs = representative_inputs(data, _input_shape(float_model))
            from tensorflow.lite.python.optimize import calibrator

            int8 = bytes(
                calibrator.Calibrator(float_model).calibrate_and_quantize(
                    _calibration(inputs), tf.int8, tf.int8, allow_float=False
                )
            )
        else:
            with _converter_source(source, fmt) as make:
                float_model = bytes(make().convert())
                inputs = representative_inputs(data, _input_shape(float_model))
                converter = make()
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = _calibration(inputs)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
                int8 = bytes(converter.convert())
    except QuantizeError:
        raise
    except Exception as exc:  # LiteRT's refusals come as many plain kinds
        raise QuantizeError(f"the model could not be quantized to int8: {exc}") from None
    return (
        int8,
        float_model,
        {
            "method": "post-training int8 (LiteRT), int8 inputs and outputs",
            "calibration_inputs": int(min(len(inputs), CALIBRATION_INPUTS)),
            **agreement(float_model, int8, inputs[:AGREEMENT_INPUTS]),
        },
    )


def _run(model: bytes, rows: np.ndarray) -> np.ndarray:
    """The model's first output for every row, dequantized when the model is int8."""
    interpreter = _tf().lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    out = interpreter.get_output_details()[0]
    results = []
    for row in rows:
        value = row[None, ...]
        in_scale, in_zero = inp["quantization"]
        if inp["dtype"] != np.float32 and in_scale:
            info = np.iinfo(inp["dtype"])
            value = np.clip(np.round(value / in_scale) + in_zero, info.min, info.max)
        interpreter.set_tensor(inp["index"], value.astype(inp["dtype"]))
        interpreter.invoke()
        result = interpreter.get_tensor(out["index"]).astype(np.float64)
        out_scale, out_zero = out["quantization"]
        if out["dtype"] != np.float32 and out_scale:
            result = (result - out_zero) * out_scale
        results.append(result.reshape(-1))
    return np.stack(results)


def agreement(float_model: bytes, int8_model: bytes, rows: np.ndarray) -> dict[str, Any]:
    """How closely the int8 model's first output follows the float one's on `rows`: the share
    of equal top-1 indices (for outputs of more than one value), the mean and largest absolute
    difference, and the float output's range to read them against."""
    ours, theirs = _run(int8_model, rows), _run(float_model, rows)
    diff = np.abs(ours - theirs)
    report: dict[str, Any] = {
        "compared_inputs": len(rows),
        "mean_abs_difference": float(diff.mean()),
        "max_abs_difference": float(diff.max()),
        "float_output_range": [float(theirs.min()), float(theirs.max())],
        "top1_agreement": None,
    }
    if theirs.shape[1] > 1:
        report["top1_agreement"] = float(np.mean(ours.argmax(1) == theirs.argmax(1)))
    return report
