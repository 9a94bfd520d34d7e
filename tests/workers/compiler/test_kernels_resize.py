"""RESIZE_BILINEAR in every variant the converter writes: bit-exact with LiteRT's reference on the
host and on the Cortex-M4, and refused by name where a model's parts disagree."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workers.compiler import UnsupportedModelError
from workers.compiler.codegen import generate
from workers.compiler.tflite_reader import read_model
from workers.compiler.verify import random_inputs, run_reference, verify


def _v1_resize(size: tuple[int, int], align_corners: bool) -> Callable[[Any], Any]:
    """TF1's resize_bilinear (Keras layers only write half-pixel centers)."""
    import tensorflow as tf
    from keras import layers

    return layers.Lambda(
        lambda t: tf.compat.v1.image.resize_bilinear(t, size, align_corners=align_corners)
    )


def _cases() -> dict[str, tuple[Callable[[Any], Any], tuple[int, ...], dict[str, bool]]]:
    """name -> (Keras graph builder, input shape, the options the RESIZE_BILINEAR must have)."""
    from keras import layers

    half = {"align_corners": False, "half_pixel_centers": True}
    return {
        "half_pixel_up": (
            lambda x: layers.Resizing(7, 9, interpolation="bilinear")(layers.Conv2D(3, 1)(x)),
            (3, 4, 2),
            half,
        ),
        "half_pixel_down": (
            lambda x: layers.Resizing(3, 2, interpolation="bilinear")(layers.Conv2D(3, 1)(x)),
            (7, 9, 2),
            half,
        ),
        "upsampling2d": (
            lambda x: layers.UpSampling2D(2, interpolation="bilinear")(layers.Conv2D(5, 1)(x)),
            (3, 4, 2),
            half,
        ),
        "align_corners": (
            lambda x: _v1_resize((7, 6), align_corners=True)(layers.Conv2D(3, 1)(x)),
            (4, 3, 2),
            {"align_corners": True, "half_pixel_centers": False},
        ),
        "asymmetric": (
            lambda x: _v1_resize((3, 7), align_corners=False)(layers.Conv2D(3, 1)(x)),
            (7, 4, 2),
            {"align_corners": False, "half_pixel_centers": False},
        ),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_resize_bilinear_is_bit_exact(name: str, keras_to_tflite: Callable[..., bytes]) -> None:
    build, shape, options = _cases()[name]
    tflite = keras_to_tflite(build, shape)
    (resize,) = [op for op in read_model(tflite).operators if op.opcode == "RESIZE_BILINEAR"]
    assert resize.options == options
    result = verify(tflite, 300, seed=1)
    assert result.differing == 0, result.first_differing_op


@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)
def test_resize_bilinear_is_exact_on_the_core(keras_to_tflite: Callable[..., bytes]) -> None:
    from workers.compiler.cortex_m import run_on_cortex_m4

    build, shape, _ = _cases()["half_pixel_up"]
    tflite = keras_to_tflite(build, shape, seed=3)
    model = read_model(tflite)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 2, seed=4):
        run = run_on_cortex_m4(tflite, sample, dsp=True)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]


def _resize_op(model: Any, graph: Any) -> Any:
    from tensorflow.lite.python import schema_py_generated as schema

    code = schema.BuiltinOperator.RESIZE_BILINEAR
    return next(
        op for op in graph.operators if model.operatorCodes[op.opcodeIndex].builtinCode == code
    )


def test_a_size_other_than_the_output_is_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    build, shape, _ = _cases()["half_pixel_up"]

    def edit(model: Any, graph: Any) -> None:
        size = graph.tensors[_resize_op(model, graph).inputs[1]]
        model.buffers[size.buffer].data = np.frombuffer(
            np.array([5, 5], dtype="<i4").tobytes(), dtype=np.uint8
        )

    tflite = rewrite_tflite(keras_to_tflite(build, shape), edit)
    with pytest.raises(UnsupportedModelError, match=r"RESIZE_BILINEAR .*size \[5, 5\]"):
        generate(read_model(tflite))


def test_align_corners_with_half_pixel_centers_is_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    build, shape, _ = _cases()["half_pixel_up"]

    def edit(model: Any, graph: Any) -> None:
        _resize_op(model, graph).builtinOptions.alignCorners = True

    tflite = rewrite_tflite(keras_to_tflite(build, shape), edit)
    with pytest.raises(UnsupportedModelError, match="RESIZE_BILINEAR .*cannot both be set"):
        generate(read_model(tflite))


def test_a_resize_the_reference_computes_past_the_input_is_refused(
    keras_to_tflite: Callable[..., bytes],
) -> None:
    # 39 rows to 306: the scale rounded to 131/1024 (not 130.5) carries the last row past 38.
    tflite = keras_to_tflite(_v1_resize((306, 1), align_corners=False), (39, 1, 1))
    with pytest.raises(UnsupportedModelError, match="would read input index 39 of 39"):
        generate(read_model(tflite))
