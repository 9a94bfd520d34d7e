"""BATCH_MATMUL (two activations, a constant right operand, adj_x/adj_y, broadcast batches) and
FULLY_CONNECTED with keep_num_dims: bit-exact with LiteRT's reference on the host and the
Cortex-M4, and refused by name where a model's shapes disagree."""

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


def _matmul(transpose_a: bool = False, transpose_b: bool = False) -> Callable[[Any], Any]:
    import tensorflow as tf
    from keras import layers

    return layers.Lambda(
        lambda t: tf.matmul(t[0], t[1], transpose_a=transpose_a, transpose_b=transpose_b)
    )


def _constant_rhs(x: Any) -> Any:
    import tensorflow as tf
    from keras import layers

    weights = np.random.default_rng(2).uniform(-1, 1, (2, 6, 4)).astype(np.float32)
    return layers.Lambda(lambda t: tf.matmul(t, weights))(x)


def _cases() -> dict[str, tuple[Callable[[Any], Any], tuple[int, ...], str, dict[str, bool]]]:
    """name -> (Keras graph builder, input shape, the op, options it must have)."""
    import keras
    from keras import layers

    return {
        # Attention scores: queries times transposed keys (the converter writes adj_y).
        "attention_scores": (
            lambda x: keras.ops.matmul(
                layers.Dense(4)(x), keras.ops.transpose(layers.Dense(4)(x), (0, 2, 1))
            ),
            (5, 6),
            "BATCH_MATMUL",
            {"adj_x": False, "adj_y": True},
        ),
        "adj_x": (
            lambda x: _matmul(transpose_a=True)([layers.Dense(4)(x), layers.Dense(3)(x)]),
            (5, 6),
            "BATCH_MATMUL",
            {"adj_x": True, "adj_y": False},
        ),
        "constant_rhs": (
            _constant_rhs,
            (2, 5, 6),
            "BATCH_MATMUL",
            {"adj_x": False, "adj_y": False},
        ),
        # One right matrix for both left ones: batch dimensions broadcast.
        "broadcast_batches": (
            lambda x: _matmul()(
                [
                    layers.Dense(4)(x),
                    layers.Reshape((1, 4, 3))(layers.Dense(12)(layers.Flatten()(x))),
                ]
            ),
            (2, 5, 6),
            "BATCH_MATMUL",
            {"adj_x": False, "adj_y": False},
        ),
        # A Dense layer over a sequence of 4-D activations: FULLY_CONNECTED with keep_num_dims.
        "dense_keep_num_dims_4d": (
            lambda x: layers.Dense(5, activation="relu")(x),
            (3, 4, 6),
            "FULLY_CONNECTED",
            {"keep_num_dims": True},
        ),
    }


def _last_op(tflite: bytes, opcode: str) -> Any:
    return [op for op in read_model(tflite).operators if op.opcode == opcode][-1]


@pytest.mark.parametrize("name", list(_cases()))
def test_matmul_is_bit_exact(name: str, keras_to_tflite: Callable[..., bytes]) -> None:
    build, shape, opcode, options = _cases()[name]
    tflite = keras_to_tflite(build, shape)
    op = _last_op(tflite, opcode)
    assert {key: op.options[key] for key in options} == options
    result = verify(tflite, 300, seed=1)
    assert result.differing == 0, result.first_differing_op


@pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)
@pytest.mark.parametrize("name", ["attention_scores", "constant_rhs", "dense_keep_num_dims_4d"])
def test_matmul_is_exact_on_the_core(name: str, keras_to_tflite: Callable[..., bytes]) -> None:
    from workers.compiler.cortex_m import run_on_cortex_m4

    build, shape, _, _ = _cases()[name]
    tflite = keras_to_tflite(build, shape, seed=3)
    model = read_model(tflite)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 2, seed=4):
        run = run_on_cortex_m4(tflite, sample, dsp=True)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]


def _edited(
    keras_to_tflite: Callable[..., bytes],
    rewrite_tflite: Callable[..., bytes],
    name: str,
    edit: Callable[[Any, Any], None],
) -> bytes:
    build, shape, _, _ = _cases()[name]
    return rewrite_tflite(keras_to_tflite(build, shape), edit)


def _last_op_output(graph: Any) -> Any:
    return graph.tensors[graph.operators[-1].outputs[0]]


def test_a_batch_matmul_output_of_another_shape_is_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    def edit(model: Any, graph: Any) -> None:
        _last_op_output(graph).shape = np.array([1, 5, 4], dtype=np.int32)

    tflite = _edited(keras_to_tflite, rewrite_tflite, "attention_scores", edit)
    with pytest.raises(UnsupportedModelError, match=r"BATCH_MATMUL .*output \(1, 5, 4\)"):
        generate(read_model(tflite))


def test_operands_that_disagree_on_the_depth_are_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    def edit(model: Any, graph: Any) -> None:
        graph.operators[-1].builtinOptions.adjY = False  # 5x4 times 5x4

    tflite = _edited(keras_to_tflite, rewrite_tflite, "attention_scores", edit)
    with pytest.raises(UnsupportedModelError, match="BATCH_MATMUL .*disagree on the depth"):
        generate(read_model(tflite))


def test_a_keep_num_dims_output_of_another_shape_is_refused(
    keras_to_tflite: Callable[..., bytes], rewrite_tflite: Callable[..., bytes]
) -> None:
    def edit(model: Any, graph: Any) -> None:
        _last_op_output(graph).shape = np.array([1, 12, 5], dtype=np.int32)

    tflite = _edited(keras_to_tflite, rewrite_tflite, "dense_keep_num_dims_4d", edit)
    with pytest.raises(UnsupportedModelError, match=r"FULLY_CONNECTED .*\(1, 3, 4, 5\)"):
        generate(read_model(tflite))
