"""Models with int16 activations and int8 weights (16x8): every operator the compiler takes them
for is bit-exact with LiteRT's reference on the host and the Cortex-M4; an int16 operator it does
not take is refused by name, never compiled as if it were int8."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workers.compiler import UnsupportedModelError
from workers.compiler.codegen import generate
from workers.compiler.quantization import tflite_round
from workers.compiler.tflite_reader import read_model
from workers.compiler.verify import random_inputs, run_reference, verify


def _cases() -> dict[str, tuple[Callable[[Any], Any], tuple[int, ...], set[str]]]:
    """name -> (Keras graph builder, input shape, int16 ops the model must contain)."""
    import keras
    from keras import layers

    biased = {"bias_initializer": keras.initializers.RandomUniform(-0.3, 0.3)}
    return {
        "conv2d_same_relu": (
            lambda x: layers.Conv2D(4, 3, padding="same", activation="relu", **biased)(x),
            (6, 7, 2),
            {"CONV_2D"},
        ),
        "conv2d_stride2_dilated": (
            lambda x: layers.Conv2D(3, 3, dilation_rate=2, padding="same")(
                layers.Conv2D(5, (3, 2), strides=2, **biased)(x)
            ),
            (11, 9, 3),
            {"CONV_2D"},
        ),
        "depthwise_multiplier2_relu6": (
            lambda x: layers.DepthwiseConv2D(
                3, depth_multiplier=2, strides=2, padding="same", activation="relu6", **biased
            )(x),
            (7, 7, 3),
            {"DEPTHWISE_CONV_2D"},
        ),
        "dense_softmax": (
            lambda x: layers.Softmax()(
                layers.Dense(9, **biased)(layers.Dense(16, activation="relu", **biased)(x))
            ),
            (12,),
            {"FULLY_CONNECTED", "SOFTMAX"},
        ),
        "dense_keep_num_dims": (
            lambda x: layers.Dense(4, **biased)(x),
            (5, 6),
            {"FULLY_CONNECTED"},
        ),
        "add_sub": (
            lambda x: layers.Subtract()(
                [
                    layers.Add()([layers.Conv2D(4, 1)(x), layers.Conv2D(4, 1)(x)]),
                    layers.Conv2D(4, 1)(x),
                ]
            ),
            (5, 5, 2),
            {"ADD", "SUB"},
        ),
        "pools": (
            lambda x: layers.MaxPooling2D(2)(
                layers.AveragePooling2D(3, strides=2, padding="same")(layers.Conv2D(3, 1)(x))
            ),
            (9, 9, 2),
            {"AVERAGE_POOL_2D", "MAX_POOL_2D"},
        ),
        "global_average_pool": (
            lambda x: layers.GlobalAveragePooling2D()(layers.Conv2D(6, 3, activation="relu")(x)),
            (6, 6, 2),
            {"MEAN"},
        ),
        "concatenation": (
            lambda x: layers.Concatenate()([layers.Conv2D(3, 1)(x), layers.Conv2D(5, 1)(x)]),
            (4, 4, 2),
            {"CONCATENATION"},
        ),
    }


def _int16_ops(tflite: bytes) -> set[str]:
    model = read_model(tflite)
    return {
        op.opcode
        for op in model.operators
        if any(model.tensors[i].type_name == "INT16" for i in op.outputs)
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_int16_kernel_is_bit_exact(name: str, keras_to_tflite: Callable[..., bytes]) -> None:
    build, shape, expected = _cases()[name]
    tflite = keras_to_tflite(build, shape, int16=True)
    assert expected <= _int16_ops(tflite)
    result = verify(tflite, 300, seed=1)
    assert result.differing == 0, result.first_differing_op


def test_float_input_and_output_quantize_to_int16(keras_to_tflite: Callable[..., bytes]) -> None:
    from keras import layers

    tflite = keras_to_tflite(
        lambda x: layers.Dense(4, activation="relu")(x), (6,), int8_io=False, int16=True
    )
    ops = [op.opcode for op in read_model(tflite).operators]
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    assert {"QUANTIZE", "FULLY_CONNECTED"} <= _int16_ops(tflite)
    result = verify(tflite, 300)
    assert result.differing == 0, result.first_differing_op


@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)
def test_int16_kernels_are_exact_on_the_core(keras_to_tflite: Callable[..., bytes]) -> None:
    from keras import layers

    from workers.compiler.cortex_m import run_on_cortex_m4

    def build(x: Any) -> Any:
        features = layers.Conv2D(4, 3, activation="relu")(layers.DepthwiseConv2D(3)(x))
        pooled = layers.GlobalAveragePooling2D()(layers.MaxPooling2D(2)(features))
        return layers.Softmax()(layers.Dense(5)(pooled))

    tflite = keras_to_tflite(build, (10, 9, 2), seed=3, int16=True)
    model = read_model(tflite)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 2, seed=4):
        run = run_on_cortex_m4(tflite, sample, dsp=True)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]


def test_an_int16_operator_the_compiler_does_not_take_is_refused_by_name(
    keras_to_tflite: Callable[..., bytes],
) -> None:
    from keras import layers

    tflite = keras_to_tflite(lambda x: layers.Dense(5, activation="sigmoid")(x), (8,), int16=True)
    assert "LOGISTIC" in _int16_ops(tflite)
    with pytest.raises(UnsupportedModelError, match=r"LOGISTIC .*has type INT16.*INT8 only"):
        generate(read_model(tflite))


def test_an_int32_bias_with_int16_activations_is_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    """LiteRT would read such a bias as int64 (the option saying otherwise is not in the file)."""
    from keras import layers
    from tensorflow.lite.python import schema_py_generated as schema

    def edit(model: Any, graph: Any) -> None:
        bias = graph.tensors[graph.operators[0].inputs[2]]
        values = np.frombuffer(bytes(model.buffers[bias.buffer].data), dtype="<i8")
        bias.type = schema.TensorType.INT32
        model.buffers[bias.buffer].data = np.frombuffer(
            values.astype("<i4").tobytes(), dtype=np.uint8
        )

    conv = keras_to_tflite(lambda x: layers.Conv2D(3, 3)(x), (5, 5, 2), int16=True)
    with pytest.raises(UnsupportedModelError, match="CONV_2D .*INT32.*INT64 bias"):
        generate(read_model(rewrite_tflite(conv, edit)))


def test_rounding_takes_halves_away_from_zero_and_nothing_else() -> None:
    # Just below a half: adding 0.5 would round the sum up to 1.
    assert tflite_round(0.49999999999999994) == 0
    assert [tflite_round(v) for v in (2.5, -2.5, -0.5, 1.4, -1.6)] == [3, -3, -1, 1, -2]
