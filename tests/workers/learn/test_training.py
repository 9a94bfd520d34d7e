"""Training with real TensorFlow on tiny synthetic data: every block trains, quantizes to int8
and evaluates with LiteRT; determinism, cancellation, early stopping and augmentation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workers.learn import (
    DEVICE_OPS,
    TrainingCancelled,
    evaluate,
    predict,
    quantize_int8,
    tflite_ops,
    train,
)
from workers.learn.training import load_keras

LABELS = ["idle", "wave", "circle"]


def _separable(seed: int = 0, n: int = 240, shape: tuple[int, ...] = (24,)):
    """Three classes whose windows differ by a class-specific pattern plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    patterns = rng.normal(size=(3, int(np.prod(shape)))) * 1.5
    x = patterns[y] + rng.normal(size=(n, int(np.prod(shape))))
    return x.reshape(n, *shape).astype(np.float32), y


def _interpreter_io(tflite: bytes) -> tuple[dict, dict]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    return interpreter.get_input_details()[0], interpreter.get_output_details()[0]


@pytest.mark.parametrize(
    "block,shape,params",
    [
        ("classifier-dense", (24,), {"epochs": 8, "learning_rate": 0.01}),
        ("classifier-conv1d", (24,), {"epochs": 5}),
        ("classifier-conv2d", (6, 4), {"epochs": 5}),
        ("classifier-dscnn", (6, 4), {"epochs": 8, "learning_rate": 0.01, "dropout": 0.0}),
    ],
)
def test_classifier_trains_quantizes_and_evaluates(
    block: str, shape: tuple[int, ...], params: dict
) -> None:
    x, y = _separable(shape=shape)
    x_test, y_test = _separable(seed=0, shape=shape)
    x_test = x_test + np.random.default_rng(9).normal(size=x_test.shape).astype(np.float32) * 0.3
    epochs: list[tuple[int, dict]] = []
    lines: list[str] = []
    result = train(
        block,
        params,
        x,
        y,
        None,
        None,
        n_classes=3,
        on_epoch=lambda e, m: epochs.append((e, m)),
        log=lines.append,
    )
    assert [e for e, _ in epochs] == list(range(1, params["epochs"] + 1))
    assert set(epochs[-1][1]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(result.history) == params["epochs"]
    assert result.train_count == 192 and result.validation_count == 48
    assert any("epoch 1:" in line for line in lines)
    assert result.keras_model and result.float_tflite

    int8 = quantize_int8(result.keras_model, x)
    source, target = _interpreter_io(int8)
    assert source["dtype"] == np.int8 and target["dtype"] == np.int8
    assert list(source["shape"]) == [1, int(np.prod(shape))]
    for model in (result.float_tflite, int8):
        assert set(tflite_ops(model)) <= DEVICE_OPS, tflite_ops(model)

    as_float = evaluate(result.float_tflite, x_test, y_test, kind="classification", labels=LABELS)
    as_int8 = evaluate(int8, x_test, y_test, kind="classification", labels=LABELS)
    assert as_float["accuracy"] >= 0.9, as_float["accuracy"]
    assert abs(as_float["accuracy"] - as_int8["accuracy"]) <= 0.04
    assert np.asarray(as_int8["confusion_matrix"]).sum() == x_test.shape[0]
    assert [c["label"] for c in as_int8["per_class"]] == LABELS
    wrong = [p["index"] for p in as_int8["predictions"] if not p["correct"]]
    assert len(wrong) == round((1 - as_int8["accuracy"]) * x_test.shape[0])
    # The float tflite computes what Keras computes.
    keras_scores = load_keras(result.keras_model).predict(x_test.reshape(240, -1), verbose=0)
    np.testing.assert_allclose(predict(result.float_tflite, x_test), keras_scores, atol=1e-4)


def test_same_seed_and_data_give_the_same_model_even_with_augmentation() -> None:
    x, y = _separable(1, shape=(8, 3))
    params = {
        "epochs": 3,
        "seed": 7,
        "augmentation": {"noise_std": 0.2, "time_shift": 1},
        "class_weighting": True,
    }
    first = train("classifier-conv1d", params, x, y, None, None, n_classes=3)
    second = train("classifier-conv1d", params, x, y, None, None, n_classes=3)
    other = train("classifier-conv1d", {**params, "seed": 8}, x, y, None, None, n_classes=3)
    weights = [load_keras(r.keras_model).get_weights() for r in (first, second, other)]
    for a, b in zip(weights[0], weights[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(weights[0], weights[2], strict=True))
    assert first.history == second.history
    assert first.float_tflite == second.float_tflite


def test_should_stop_cancels_at_the_end_of_an_epoch() -> None:
    x, y = _separable(2)
    seen: list[tuple[int, list[str]]] = []
    with pytest.raises(TrainingCancelled) as raised:
        train(
            "classifier-dense",
            {"epochs": 50},
            x,
            y,
            x[:0],  # an empty validation set is no validation set
            y[:0],
            n_classes=3,
            on_epoch=lambda e, m: seen.append((e, sorted(m))),
            should_stop=lambda: len(seen) >= 2,
        )
    assert seen == [(1, ["accuracy", "loss"]), (2, ["accuracy", "loss"])]
    assert raised.value.epochs_done == 2


def test_early_stopping_keeps_the_best_epoch() -> None:
    x, y = _separable(3)
    # Validation labels that contradict the training labels: the more the model learns, the
    # worse its validation loss, so patience runs out early.
    x_val, y_val = x[:60], (y[:60] + 1) % 3
    result = train(
        "classifier-dense",
        {"epochs": 40, "early_stopping": 2, "learning_rate": 0.01},
        x,
        y,
        x_val,
        y_val,
        n_classes=3,
    )
    assert result.stopped_early and len(result.history) < 40
    losses = [h["val_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.validation_count == 60


def test_regression_learns_a_linear_target_and_quantizes() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(240, 6)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.5, 0.3]) + 3.0).astype(np.float32)
    result = train(
        "regression", {"epochs": 30, "learning_rate": 0.01}, x, y, None, None, n_classes=1
    )
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(result.history[-1])
    int8 = quantize_int8(result.keras_model, x)
    assert set(tflite_ops(int8)) <= DEVICE_OPS
    as_float = evaluate(result.float_tflite, x, y, kind="regression", labels=None)
    as_int8 = evaluate(int8, x, y, kind="regression", labels=None)
    assert as_float["r2"] >= 0.9, as_float
    assert as_int8["r2"] >= 0.85, as_int8
    assert as_float["rmse"] >= as_float["mae"] > 0
    assert len(as_int8["predictions"]) == 240


def test_training_threads_follow_the_environment() -> None:
    code = (
        "from workers.learn.training import import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "TINYSTUDIO_TRAINING_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["1", "1"]
