"""Structured and unstructured pruning with real TensorFlow on tiny synthetic data: the narrower
network holds exactly the surviving weights, compiles smaller, and unstructured pruning reaches
its sparsity on the same architecture; both stay int8-convertible for the device."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.compiler import compile_model
from workers.learn import (
    DEVICE_OPS,
    TrainingCancelled,
    get_learn_block,
    quantize_int8,
    tflite_ops,
    train,
)
from workers.learn.blocks import KerasBlock
from workers.learn.fitting import FitData, FitHooks
from workers.learn.optimize import OptimizeRequest, optimize
from workers.learn.optimize.pruning import (
    kept_units,
    prune_unstructured,
    shrink,
    sparsity_at,
)
from workers.learn.training import load_keras

SHAPES = {
    "classifier-dense": (24,),
    "classifier-conv1d": (16, 8),
    "classifier-conv2d": (16, 8),
    "classifier-dscnn": (16, 8),
}
# Wide enough that halving every layer leaves a working network, small enough to train in a blink.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "classifier-dense": {"dense_layers": [16, 8]},
    "classifier-conv1d": {"conv_filters": [8, 8], "dense_layers": [8]},
    "classifier-conv2d": {"conv_filters": [8, 16], "dense_layers": [16]},
    "classifier-dscnn": {"conv_filters": [8, 8, 8], "dropout": 0.0},
}


def _windows(shape: tuple[int, ...], n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes: a slow sinusoid, a fast one, and noise alone, at random phases."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    steps, width = shape[0], int(np.prod(shape[1:]))
    t = np.arange(steps)[None, :, None] / steps
    cycles = np.array([1.0, 4.0, 0.0])[y][:, None, None]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, width))
    x = np.sin(2 * np.pi * cycles * t + phase) * (y != 2)[:, None, None]
    x = x + rng.normal(scale=0.3, size=(n, steps, width))
    return x.reshape(n, *shape).astype(np.float32), y


@functools.cache
def _baseline(block_name: str) -> Any:
    """A briefly trained baseline run of the block (TrainResult), shared by the tests."""
    x, y = _windows(SHAPES[block_name])
    params = {**ARCHITECTURES[block_name], "epochs": 3, "learning_rate": 0.01}
    return train(block_name, params, x, y, None, None, n_classes=3)


def _request(block_name: str, optimization: dict[str, Any], **hooks: Any) -> OptimizeRequest:
    """An optimized run of the baseline's network on the same windows (a quarter held out)."""
    block = get_learn_block(block_name)
    assert isinstance(block, KerasBlock)
    shape = SHAPES[block_name]
    x, y = _windows(shape)
    flat = x.reshape(x.shape[0], -1)
    baseline = _baseline(block_name)
    params = block.validate_params({**baseline.params, "optimization": optimization}, shape, 3)
    data = FitData("classification", flat[30:], y[30:], flat[:30], y[:30])
    return OptimizeRequest(block, params, shape, 3, data, FitHooks(**hooks), baseline.keras_model)


def _int8(model: Any, block_name: str) -> bytes:
    x, _ = _windows(SHAPES[block_name])
    tflite = quantize_int8(model, x)
    assert set(tflite_ops(tflite)) <= DEVICE_OPS
    return tflite


def test_structured_pruning_shrinks_the_compiled_conv2d_model(tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(1)
    request = _request(
        "classifier-conv2d", {"pruning": "structured", "sparsity": 0.5, "fine_tune_epochs": 2}
    )
    result = optimize(request)

    assert result.params["conv_filters"] == [4, 8] and result.params["dense_layers"] == [8]
    report = result.report["pruning"]
    assert [(row["kind"], row["before"], row["after"]) for row in report["layers"]] == [
        ("Conv2D", 8, 4),
        ("Conv2D", 16, 8),
        ("Dense", 16, 8),
    ]
    assert report["parameters_after"] == result.model.count_params()
    assert report["parameters_after"] < report["parameters_before"] / 2
    assert len(result.history) == report["fine_tuning"]["epochs"] <= 2
    for stage in ("baseline", "after_pruning", "after_fine_tuning"):
        assert 0 <= report[stage]["accuracy"] <= 1 and np.isfinite(report[stage]["loss"])

    assert request.baseline_model is not None
    before = compile_model(
        _int8(load_keras(request.baseline_model), "classifier-conv2d"), tmp_path / "a"
    )
    after = compile_model(_int8(result.model, "classifier-conv2d"), tmp_path / "b")
    assert after.macs <= 0.6 * before.macs
    assert after.arena_bytes < before.arena_bytes
    assert after.weights_bytes < before.weights_bytes


def _randomised(block_name: str) -> tuple[KerasBlock, dict[str, Any], Any]:
    """The block's network with every weight, biases included, drawn at random (non-zero
    biases make a wrongly copied or unzeroed channel show in the outputs)."""
    import keras

    keras.utils.set_random_seed(2)
    block = get_learn_block(block_name)
    assert isinstance(block, KerasBlock)
    params = block.validate_params(ARCHITECTURES[block_name], SHAPES[block_name], 3)
    model = block.build_model(params, SHAPES[block_name], 3)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    return block, params, model


def _zero_pruned(model: Any, kept: dict[str, np.ndarray]) -> None:
    """Zeroes the kernels and biases of the dropped filters/units in place, and the biases of a
    depthwise layer's dropped channels, so that every dropped channel carries exact zeros."""
    import keras

    dropped = np.array([], dtype=int)
    for layer in model.layers:
        if layer.name in kept:
            kernel, bias = layer.get_weights()
            dropped = np.setdiff1d(np.arange(kernel.shape[-1]), kept[layer.name])
            kernel[..., dropped], bias[dropped] = 0, 0
            layer.set_weights([kernel, bias])
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            kernel, bias = layer.get_weights()
            bias[dropped] = 0
            layer.set_weights([kernel, bias])


@pytest.mark.parametrize("block_name", list(SHAPES))
def test_pruned_network_computes_what_the_original_does_with_dropped_filters_zeroed(
    block_name: str,
) -> None:
    block, params, model = _randomised(block_name)
    params["optimization"] = {"pruning": "structured", "sparsity": 0.5}
    shape = SHAPES[block_name]
    x, y = _windows(shape, n=16)
    flat = x.reshape(16, -1)
    request = OptimizeRequest(
        block, params, shape, 3, FitData("classification", flat, y), FitHooks()
    )

    kept = kept_units(model, 0.5, "l2")
    pruned, new_params = shrink(model, kept, request)
    _zero_pruned(model, kept)

    assert pruned.count_params() < model.count_params()
    assert [type(layer) for layer in pruned.layers] == [type(layer) for layer in model.layers]
    assert new_params.get("conv_filters") == (
        [n // 2 for n in params["conv_filters"]] if "conv_filters" in params else None
    )
    np.testing.assert_allclose(pruned(flat).numpy(), model(flat).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_every_layer_keeps_its_filters_of_largest_norm(norm: str) -> None:
    _, _, model = _randomised("classifier-conv2d")
    for sparsity, counts in ((0.5, [4, 8, 8]), (0.3, [6, 12, 12]), (0.95, [1, 1, 1])):
        kept = kept_units(model, sparsity, norm)
        assert [len(units) for units in kept.values()] == counts
        for name, units in kept.items():
            kernel = model.get_layer(name).get_weights()[0]
            flat = kernel.reshape(-1, kernel.shape[-1])
            norms = np.linalg.norm(flat, ord=1 if norm == "l1" else 2, axis=0)
            dropped = np.setdiff1d(np.arange(flat.shape[1]), units)
            assert np.all(np.diff(units) > 0)
            assert dropped.size == 0 or norms[units].min() >= norms[dropped].max()


@pytest.mark.parametrize("block_name", ["classifier-dense", "classifier-dscnn"])
def test_unstructured_pruning_reaches_the_target_sparsity_on_the_same_network(
    block_name: str,
) -> None:
    import keras

    keras.utils.set_random_seed(1)
    request = _request(
        block_name, {"pruning": "unstructured", "sparsity": 0.6, "fine_tune_epochs": 3}
    )
    result = optimize(request)

    model = result.model
    expected = request.block.build_model(request.params, request.input_shape, 3)
    assert [tuple(w.shape) for w in model.weights] == [tuple(w.shape) for w in expected.weights]
    assert result.params == request.params
    report = result.report["pruning"]
    assert abs(report["sparsity"] - 0.6) <= 0.02
    pruned_layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    assert [row["layer"] for row in report["layers"]] == [layer.name for layer in pruned_layers]
    for layer in pruned_layers:
        assert layer.kernel.constraint is None
        kernel = layer.get_weights()[0]
        assert abs(np.mean(kernel == 0) - 0.6) <= 0.02
    assert "compressed" in report["note"]
    assert 0 <= report["after_fine_tuning"]["accuracy"] <= 1
    _int8(model, block_name)


def test_unstructured_masks_follow_the_schedule_and_hold_through_training() -> None:
    import keras

    keras.utils.set_random_seed(1)
    request = _request(
        "classifier-dense", {"pruning": "unstructured", "sparsity": 0.8, "fine_tune_epochs": 4}
    )
    assert request.baseline_model is not None
    model = load_keras(request.baseline_model)
    layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    seen: list[float] = []

    def zero_share(_epoch: int, _metrics: dict[str, float]) -> None:
        # Called after the epoch's last optimizer step and before the next epoch's masks.
        kernels = [layer.get_weights()[0] for layer in layers]
        seen.append(sum(int(np.sum(k == 0)) for k in kernels) / sum(k.size for k in kernels))

    prune_unstructured(model, request.with_hooks(FitHooks(on_epoch=zero_share)))
    schedule = [sparsity_at(0.8, epoch, 4) for epoch in range(1, 5)]
    assert sparsity_at(0.8, 0, 4) == 0 and schedule[-1] == pytest.approx(0.8)
    assert seen == pytest.approx(schedule, abs=0.01)


@pytest.mark.parametrize("method", ["structured", "unstructured"])
def test_a_cancelled_fine_tune_raises_training_cancelled(method: str) -> None:
    request = _request(
        "classifier-dense",
        {"pruning": method, "fine_tune_epochs": 5},
        should_stop=lambda: True,
    )
    with pytest.raises(TrainingCancelled) as cancelled:
        optimize(request)
    assert cancelled.value.epochs_done == 1
