"""Quantization-aware training on tiny synthetic data, through workers.learn.optimize: the
result is a plain network of the baseline's shapes that converts to device int8 operators,
and its int8 model follows the float one at least as well as before."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from workers.learn import DEVICE_OPS, TrainingCancelled, quantize_int8, tflite_ops, train
from workers.learn.blocks import KerasBlock, get_learn_block
from workers.learn.fitting import FitData, FitHooks
from workers.learn.optimize import OptimizeRequest, optimize
from workers.learn.training import load_keras


def _keras_block(name: str) -> KerasBlock:
    block = get_learn_block(name)
    assert isinstance(block, KerasBlock)
    return block


def _windows(seed: int, n: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Three classes: a class pattern plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    width = int(np.prod(shape))
    patterns = np.random.default_rng(100).normal(size=(3, width)) * 1.2
    x = patterns[y] + rng.normal(size=(n, width))
    return x.reshape(n, *shape).astype(np.float32), y


def _baseline_and_request(
    block_name: str,
    shape: tuple[int, ...],
    params: dict[str, Any],
    *,
    fine_tune_epochs: int,
    hooks: FitHooks,
) -> tuple[bytes, OptimizeRequest]:
    x, y = _windows(0, 150, shape)
    x_val, y_val = _windows(1, 60, shape)
    baseline = train(block_name, params, x, y, x_val, y_val, n_classes=3)
    assert baseline.keras_model is not None
    block = _keras_block(block_name)
    checked = block.validate_params(
        {**params, "optimization": {"qat": True, "fine_tune_epochs": fine_tune_epochs}}, shape, 3
    )
    data = FitData("classification", x.reshape(150, -1), y, x_val.reshape(60, -1), y_val)
    request = OptimizeRequest(
        block, checked, shape, 3, data, hooks, baseline_model=baseline.keras_model
    )
    return baseline.keras_model, request


@pytest.mark.parametrize(
    "block_name,shape,params",
    [
        ("classifier-conv2d", (16, 8), {"conv_filters": [4, 8], "dense_layers": [8]}),
        ("classifier-dscnn", (16, 8), {"conv_filters": [8, 8], "dropout": 0.0}),
        ("classifier-dense", (24,), {"dense_layers": [16, 8]}),
    ],
)
def test_qat_gives_a_plain_model_whose_int8_follows_float(
    block_name: str, shape: tuple[int, ...], params: dict[str, Any]
) -> None:
    epochs: list[int] = []
    baseline, request = _baseline_and_request(
        block_name,
        shape,
        {**params, "epochs": 15, "learning_rate": 0.01},
        fine_tune_epochs=4,
        hooks=FitHooks(on_epoch=lambda e, _m: epochs.append(e)),
    )
    result = optimize(request)

    model = result.model
    assert all(type(layer).__module__.startswith("keras.") for layer in model.layers)
    original = load_keras(baseline)
    assert [w.shape for w in model.weights] == [w.shape for w in original.weights]
    int8 = quantize_int8(model, request.data.x_fit)
    assert set(tflite_ops(int8)) <= DEVICE_OPS, tflite_ops(int8)

    report = result.report["qat"]
    assert report["epochs"] == 4 and epochs == [1, 2, 3, 4]
    assert result.report["stages"] == [
        {"stage": "quantization-aware training", "first_epoch": 1, "epochs": 4}
    ]
    before, after = report["before"], report["after"]
    # On data this small, agreement moves by single windows either way: QAT must not cost
    # more than 3 of the 60.
    assert after["int8_float_agreement"] >= before["int8_float_agreement"] - 0.05
    assert after["float_accuracy"] >= 0.8 and after["int8_accuracy"] >= 0.8
    assert result.params == request.params


def test_qat_keeps_pruned_zeros_and_fits_a_regression() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(160, 6)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.5, 0.3]) + 1.0).astype(np.float32)
    params = {"dense_layers": [8], "epochs": 10, "learning_rate": 0.01, "validation_split": 0}
    baseline = train("regression", params, x, y, None, None, n_classes=1)
    assert baseline.keras_model is not None
    model = load_keras(baseline.keras_model)
    kernel = model.layers[1].kernel
    pruned = kernel.numpy() * (np.arange(kernel.shape[1]) % 2 == 0)
    kernel.assign(pruned)
    block = _keras_block("regression")
    checked = block.validate_params({**params, "optimization": {"qat": True}}, (6,), 1)
    data = FitData("regression", x, y[:, None])
    request = OptimizeRequest(block, checked, (6,), 1, data, FitHooks())

    from workers.learn.optimize.qat import quantization_aware

    outcome = quantization_aware(model, request)
    tuned = outcome.model.layers[1].kernel.numpy()
    np.testing.assert_array_equal(tuned[pruned == 0], 0.0)
    assert not np.array_equal(tuned[pruned != 0], pruned[pruned != 0])
    assert outcome.report["evaluated_on"] == "training"
    after = outcome.report["after"]
    assert after["int8_float_mean_abs_difference"] < 0.05 * float(np.std(y)), after


def test_qat_stops_when_the_job_is_cancelled() -> None:
    _, request = _baseline_and_request(
        "classifier-dense",
        (24,),
        {"dense_layers": [8], "epochs": 2},
        fine_tune_epochs=20,
        hooks=FitHooks(should_stop=lambda: True),
    )
    with pytest.raises(TrainingCancelled) as raised:
        optimize(request)
    assert raised.value.epochs_done == 1


def test_qat_twins_compute_on_the_int8_grid() -> None:
    import keras

    from workers.learn.optimize.qat import _calibrate, _qat_clone

    shape = (16, 8)
    block = _keras_block("classifier-dscnn")
    params = block.validate_params({"conv_filters": [4, 8]}, shape, 3)
    model = block.build_model(params, shape, 3)
    x = _windows(2, 40, shape)[0].reshape(40, -1)
    qat_model, inner = _qat_clone(keras, model)
    _calibrate(keras, qat_model, inner, x)

    features = qat_model.get_layer("features_int8")
    assert float(features.range_min) == pytest.approx(min(float(x.min()), 0.0))
    assert float(features.range_max) == pytest.approx(float(x.max()))
    assert np.unique(np.asarray(features(x))).size <= 256
    twins = [layer for layer in inner.layers if hasattr(layer, "kernel_mask")]
    assert {type(t).__name__ for t in twins} == {"QatConv2D", "QatDepthwiseConv2D", "QatDense"}
    for twin in twins:
        original = model.get_layer(twin.name).kernel.numpy()
        np.testing.assert_array_equal(twin.kernel.numpy(), original)
        channels = original.shape[-1] * (
            original.shape[-2] if "Depthwise" in type(twin).__name__ else 1
        )
        grid = np.asarray(twin._fake_kernel(channels)).reshape(-1, channels)
        steps = grid / (np.abs(original.reshape(-1, channels)).max(axis=0) / 127)
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
        assert np.abs(steps).max() <= 127 + 1e-3
