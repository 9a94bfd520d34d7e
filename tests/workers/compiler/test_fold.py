"""Shape arithmetic folded at compile time: models converted with an open batch dimension (a
Keras Flatten computes its shape at run time) compile and stay bit-exact."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.workers.compiler.conftest import quantize_keras_model
from workers.compiler import compile_model, verify
from workers.compiler.fold import fold_shape_ops
from workers.compiler.tflite_reader import Model, Operator, Tensor, read_model

INT32 = 2  # TFLite's tensor type code of int32


def _open_batch_conv1d() -> bytes:
    """Input((40, 3)) -> Conv1D -> Flatten -> Dense, converted without fixing the batch."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(4)
    inputs = keras.Input((40, 3))
    x = keras.layers.Conv1D(8, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return quantize_keras_model(keras.Model(inputs, outputs), (40, 3), seed=4)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the host C compiler")
def test_flatten_with_an_open_batch_compiles_and_is_exact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tflite = _open_batch_conv1d()
    ops = [op.opcode for op in read_model(tflite).operators]
    assert {"SHAPE", "STRIDED_SLICE", "PACK"} <= set(ops)  # what the converter emits for Flatten

    report = compile_model(tflite, tmp_path)
    assert not {"SHAPE", "STRIDED_SLICE", "PACK"} & set(report.ops)
    assert "RESHAPE" in report.ops and "FULLY_CONNECTED" in report.ops
    result = verify(tflite, 200, seed=1)
    assert result.differing == 0 and result.inputs == 200


def _constant(index: int, values: list[int] | np.ndarray) -> Tensor:
    data = np.asarray(values, dtype="<i4")
    return Tensor(index, f"c{index}", tuple(data.shape), INT32, data=data.tobytes())


def _slice_model(
    x: np.ndarray, begin: list[int], end: list[int], strides: list[int], out_shape: tuple[int, ...],
    **options: int,
) -> Model:  # fmt: skip
    tensors = [
        _constant(0, x), _constant(1, begin), _constant(2, end), _constant(3, strides),
        Tensor(4, "out", out_shape, INT32), Tensor(5, "unused", (1,), INT32),
    ]  # fmt: skip
    op = Operator(0, "STRIDED_SLICE", 1, [0, 1, 2, 3], [4], options=dict(options))
    return Model(tensors, [op], inputs=[5], outputs=[5], version=3)


@pytest.mark.parametrize(
    ("begin", "end", "strides", "options", "expected"),
    [
        ([0], [1], [1], {"shrink_axis_mask": 1}, lambda x: x[0]),  # a Flatten's batch
        ([1, 0], [3, 4], [1, 2], {}, lambda x: x[1:3, 0:4:2]),
        ([-2, 1], [0, 0], [1, 1], {"end_mask": 3}, lambda x: x[-2:, 1:]),
        ([2, 3], [0, 0], [-1, -1], {"begin_mask": 1, "end_mask": 3}, lambda x: x[::-1, 3::-1]),
        ([1, 1], [2, 2], [1, 1], {"offset": 1}, lambda x: x[1:3, 1:3]),
    ],
)
def test_strided_slices_of_constants_follow_numpy(begin, end, strides, options, expected) -> None:  # type: ignore[no-untyped-def]
    x = np.arange(20, dtype=np.int32).reshape(4, 5)
    want = np.asarray(expected(x))
    model = _slice_model(x, begin, end, strides, want.shape, **options)
    folded = fold_shape_ops(model)
    assert folded.operators == []
    np.testing.assert_array_equal(folded.tensors[4].array(), want)


def test_ops_on_run_time_data_stay() -> None:
    x = Tensor(0, "activations", (1, 2), INT32)
    out = Tensor(1, "out", (1, 2), INT32)
    pack = Operator(0, "PACK", 1, [0], [1], options={"axis": 0})
    model = Model([x, out], [pack], inputs=[0], outputs=[1], version=3)
    assert fold_shape_ops(model) is model
