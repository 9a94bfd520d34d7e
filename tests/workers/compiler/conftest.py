"""Factories for the compiler tests: tiny Keras models quantized to int8 TFLite."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


def quantize_keras_model(
    model: object,
    input_shape: tuple[int, ...],
    int8_io: bool = True,
    seed: int = 0,
    int16: bool = False,
) -> bytes:
    """Converts a Keras model to full-integer int8 TFLite with a random representative set;
    with `int16`, to int16 activations and int8 weights (16x8), int16 in and out unless not
    `int8_io` (then float)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def representative() -> object:
        for _ in range(32):
            yield [rng.uniform(-1.0, 1.0, size=(1, *input_shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        if int16
        else tf.lite.OpsSet.TFLITE_BUILTINS_INT8
    ]
    if int8_io:
        converter.inference_input_type = tf.int16 if int16 else tf.int8
        converter.inference_output_type = tf.int16 if int16 else tf.int8
    return bytes(converter.convert())


@pytest.fixture(scope="session")
def keras_to_tflite() -> Callable[..., bytes]:
    """Builds `build(keras)` for an input shape and returns its int8 TFLite bytes."""

    def factory(
        build: Callable[[object], object],
        input_shape: tuple[int, ...],
        int8_io: bool = True,
        seed: int = 0,
        int16: bool = False,
    ) -> bytes:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        keras.utils.set_random_seed(seed)
        inputs = keras.Input(shape=input_shape, batch_size=1)
        outputs = build(inputs)
        model = keras.Model(inputs, outputs)
        return quantize_keras_model(model, input_shape, int8_io=int8_io, seed=seed, int16=int16)

    return factory


@pytest.fixture(scope="session")
def rewrite_tflite() -> Callable[..., bytes]:
    """Applies `edit(model, graph)` to a .tflite's object form (TFLite's schema classes) and
    returns the rewritten bytes: hand-edited models the converter would not write."""

    def rewrite(tflite: bytes, edit: Callable[[Any, Any], None]) -> bytes:
        import flatbuffers
        from tensorflow.lite.python import schema_py_generated as schema

        model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
        edit(model, model.subgraphs[0])
        builder = flatbuffers.Builder(len(tflite) + 1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    return rewrite
