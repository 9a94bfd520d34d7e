"""What describe() says of a model's operators: supported by name is not enough where the
compiler has no kernel for the tensors' types."""

from __future__ import annotations

import os

import numpy as np

from workers.byo.describe import describe


def _int16_sigmoid_model() -> bytes:
    """A Dense layer with a sigmoid, converted with int16 activations (16x8)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,), batch_size=1)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="sigmoid")(inputs))
    rng = np.random.default_rng(0)

    def representative() -> object:
        for _ in range(16):
            yield [rng.uniform(-1, 1, size=(1, 8)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return bytes(converter.convert())


def test_an_int16_operator_without_an_int16_kernel_is_marked_unsupported() -> None:
    info = describe(_int16_sigmoid_model())
    supported = {op["op"]: op["supported"] for op in info["operators"]}
    assert supported == {"FULLY_CONNECTED": True, "LOGISTIC": False}
    assert not info["compiler"]["supported"]
    assert "LOGISTIC" in info["compiler"]["reason"] and "INT16" in info["compiler"]["reason"]
