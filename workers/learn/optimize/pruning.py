"""Magnitude pruning of a trained Keras network: structured (whole filters and units go and the
block's network is rebuilt that much narrower) or unstructured (single weights are zeroed on a
polynomial schedule while fine-tuning; the architecture stays)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workers.learn.base import LearnParamError
from workers.learn.fitting import FitData, compile_model, fit
from workers.learn.optimize.steps import OptimizeRequest, StepOutcome

# Fine-tuning starts from trained weights: a tenth of the run's learning rate adjusts them to
# the pruning instead of retraining them from wherever the first steps throw them.
FINE_TUNE_RATE_FACTOR = 0.1
# Structured fine-tuning of a run without early stopping still keeps its best epoch, so that a
# late epoch that overfits the narrower network does not become the result.
FINE_TUNE_PATIENCE = 3
UNSTRUCTURED_NOTE = (
    "The device's C kernels are dense: zeroed weights are still stored and multiplied, so RAM, "
    "flash and latency do not shrink; the saving appears only once the model file is compressed."
)


def prune_structured(model: Any, request: OptimizeRequest) -> StepOutcome:
    """Keeps the filters/units of largest norm in every Conv2D and hidden Dense layer, builds
    the block's network with those widths and the surviving weights, and fine-tunes it."""
    settings, params, data = request.settings, request.params, request.data
    fine_tune_rate = params["learning_rate"] * FINE_TUNE_RATE_FACTOR
    compile_model(model, data.kind, fine_tune_rate)
    baseline = _scores(model, data, params["batch_size"])

    kept = kept_units(model, settings["sparsity"], settings["pruning_norm"])
    pruned, new_params = shrink(model, kept, request)
    compile_model(pruned, data.kind, fine_tune_rate)
    after_pruning = _scores(pruned, data, params["batch_size"])
    before_count, after_count = model.count_params(), pruned.count_params()
    request.hooks.say(
        f"structured pruning ({settings['pruning_norm']} norm, sparsity {settings['sparsity']}): "
        f"{before_count} -> {after_count} parameters; fine-tuning"
    )
    patience = params["early_stopping"] or FINE_TUNE_PATIENCE
    history = _fine_tune(pruned, request, patience=patience)

    report = {
        "method": "structured",
        "norm": settings["pruning_norm"],
        "target_sparsity": settings["sparsity"],
        "layers": [
            {"layer": old.name, "kind": type(old).__name__, "before": width, "after": narrowed}
            for old, width, narrowed in _widths(model, pruned)
        ],
        "parameters_before": int(before_count),
        "parameters_after": int(after_count),
        "fine_tuning": {
            "learning_rate": fine_tune_rate,
            "patience": patience,
            "epochs": len(history),
        },
        "evaluated_on": _evaluated_on(data),
        "baseline": baseline,
        "after_pruning": after_pruning,
        "after_fine_tuning": _scores(pruned, data, params["batch_size"]),
    }
    return StepOutcome(model=pruned, params=new_params, report=report)


def prune_unstructured(model: Any, request: OptimizeRequest) -> StepOutcome:
    """Zeroes the smallest-magnitude weights of every Conv2D, DepthwiseConv2D and Dense kernel
    (the output layer's too; biases stay), rising to the target sparsity while fine-tuning
    `model` in place; masked weights stay zero after every optimizer step."""
    import keras

    settings, params, data = request.settings, request.params, request.data
    target, epochs = settings["sparsity"], settings["fine_tune_epochs"]
    fine_tune_rate = params["learning_rate"] * FINE_TUNE_RATE_FACTOR
    layers = [layer for layer in model.layers if isinstance(layer, _weighted_layers(keras))]
    masks = [
        keras.Variable(np.ones(layer.kernel.shape, np.float32), trainable=False) for layer in layers
    ]

    def mask_to(sparsity: float) -> None:
        for layer, mask in zip(layers, masks, strict=True):
            weights = layer.kernel.numpy()
            kept = magnitude_mask(weights, sparsity)
            mask.assign(kept)
            layer.kernel.assign(weights * kept)

    class Schedule(keras.callbacks.Callback):  # type: ignore[misc]
        """Recomputes the masks for the next epoch's sparsity. An epoch-end hook only: a batch
        hook would make Keras wait for every step (see fitting._progress)."""

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            # `epoch` counts from 0, so epoch + 2 is the 1-based number of the next epoch.
            mask_to(sparsity_at(target, min(epoch + 2, epochs), epochs))

    compile_model(model, data.kind, fine_tune_rate)
    baseline = _scores(model, data, params["batch_size"])
    request.hooks.say(
        f"unstructured pruning to sparsity {target} over {epochs} epochs of fine-tuning"
    )
    # Keras 3 optimizers assign `variable.constraint(variable)` after each update, inside the
    # compiled step: the mask holds pruned weights at zero without any Python per batch.
    for layer, mask in zip(layers, masks, strict=True):
        layer.kernel.constraint = _holding(mask)
    try:
        mask_to(sparsity_at(target, 1, epochs))
        # No early stopping: it would restore an epoch that is less sparse than the target.
        history = _fine_tune(model, request, patience=0, callbacks=[Schedule()])
    finally:
        # The model leaves as plain Keras layers; the zeros are in the weights themselves.
        for layer in layers:
            layer.kernel.constraint = None

    rows = []
    for layer in layers:
        weights = layer.kernel.numpy()
        zeros = int(np.count_nonzero(weights == 0))
        rows.append(
            {
                "layer": layer.name,
                "kind": type(layer).__name__,
                "weights": int(weights.size),
                "zeros": zeros,
                "target_sparsity": target,
                "sparsity": zeros / weights.size,
            }
        )
    total = sum(row["weights"] for row in rows)
    zeros = sum(row["zeros"] for row in rows)
    report = {
        "method": "unstructured",
        "target_sparsity": target,
        "sparsity": zeros / total if total else 0.0,
        "kernel_weights": total,
        "zero_weights": zeros,
        "layers": rows,
        "schedule": f"polynomial (cubic) from 0 to {target} over {epochs} epochs",
        "output_layer_pruned": True,
        "parameters": int(model.count_params()),
        "fine_tuning": {"learning_rate": fine_tune_rate, "patience": 0, "epochs": len(history)},
        "evaluated_on": _evaluated_on(data),
        "baseline": baseline,
        "after_fine_tuning": _scores(model, data, params["batch_size"]),
        "note": UNSTRUCTURED_NOTE,
    }
    return StepOutcome(model=model, params=dict(params), report=report)


def kept_units(model: Any, sparsity: float, norm: str) -> dict[str, np.ndarray]:
    """Per Conv2D and hidden Dense layer (by name, in model order), the ascending indices of
    the ceil((1 - sparsity) * n) filters/units (at least 1) whose kernel has the largest L1/L2
    norm. Every layer is ranked on its whole kernel, independently of the others."""
    kept = {}
    for layer in _prunable(model):
        kernel = layer.get_weights()[0]
        width = kernel.shape[-1]
        norms = np.linalg.norm(kernel.reshape(-1, width), ord=1 if norm == "l1" else 2, axis=0)
        # The epsilon keeps float error from adding one: (1 - 0.7) * 10 is 3.0000000000000004.
        count = max(1, math.ceil((1 - sparsity) * width - 1e-9))
        largest = np.argsort(-norms, kind="stable")[:count]
        kept[layer.name] = np.sort(largest)
    return kept


def shrink(
    model: Any, kept: dict[str, np.ndarray], request: OptimizeRequest
) -> tuple[Any, dict[str, Any]]:
    """The block's network narrowed to the `kept` filters/units, holding `model`'s surviving
    weights, and the parameters that build it (conv_filters/dense_layers narrowed)."""
    import keras

    params = dict(request.params)
    prunable = _prunable(model)
    widths = {
        "conv_filters": [len(kept[p.name]) for p in prunable if isinstance(p, keras.layers.Conv2D)],
        "dense_layers": [len(kept[p.name]) for p in prunable if isinstance(p, keras.layers.Dense)],
    }
    params.update({key: value for key, value in widths.items() if key in params})
    pruned = request.block.build_model(params, request.input_shape, request.n_outputs)
    _copy_kept(model, pruned, kept)
    return pruned, params


def magnitude_mask(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """1 for the weights kept, 0 for the round(sparsity * size) of smallest magnitude."""
    mask = np.ones(weights.size, np.float32)
    mask[
        np.argsort(np.abs(weights), axis=None, kind="stable")[: round(sparsity * weights.size)]
    ] = 0
    return mask.reshape(weights.shape)


def sparsity_at(target: float, epoch: int, epochs: int) -> float:
    """The polynomial-decay schedule: target * (1 - (1 - epoch / epochs)^3), 0 at epoch 0."""
    return target * (1 - (1 - epoch / epochs) ** 3)


def _holding(mask: Any) -> Any:
    """A kernel constraint that multiplies the kernel by `mask` (a variable: reassigning it
    changes the mask without retracing the compiled training step)."""
    return lambda kernel: kernel * mask


def _weighted_layers(keras: Any) -> tuple[Any, ...]:
    """The layer types whose kernels pruning ranks or slices."""
    return (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def _prunable(model: Any) -> list[Any]:
    """Conv2D and Dense layers before the output layer (DepthwiseConv2D is no Conv2D)."""
    import keras

    return [
        layer
        for layer in model.layers[:-1]
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)
    ]


def _copy_kept(source: Any, target: Any, kept: dict[str, np.ndarray]) -> None:
    """Copies the surviving weights layer by layer, tracking which of `source`'s channels
    (indices of the last axis of the tensor between two layers) survive in `target`."""
    import keras

    layers = keras.layers
    passing = (
        layers.InputLayer,
        layers.Dropout,
        layers.MaxPooling2D,
        layers.GlobalAveragePooling2D,
    )
    output = source.layers[-1]
    channels = np.arange(source.input_shape[-1])
    for old, new in zip(source.layers, target.layers, strict=True):
        if type(old) is not type(new):
            raise ValueError(f"pruned network differs at {old.name}: {type(new).__name__}")
        if isinstance(old, layers.Reshape):
            # Only the flat input precedes it, and input features are never pruned.
            channels = np.arange(old.output.shape[-1])
        elif isinstance(old, layers.Flatten):
            # Channels-last flattening: channel k at position p becomes p * width + k.
            positions, width = math.prod(old.input.shape[1:-1]), old.input.shape[-1]
            channels = (np.arange(positions)[:, None] * width + channels[None, :]).ravel()
        elif isinstance(old, layers.DepthwiseConv2D):
            # One filter per input channel: it keeps exactly the channels its input keeps.
            kernel, bias = old.get_weights()
            new.set_weights([kernel[:, :, channels], bias[channels]])
        elif isinstance(old, layers.Conv2D | layers.Dense):
            kernel, bias = old.get_weights()
            units = np.arange(kernel.shape[-1]) if old is output else kept[old.name]
            new.set_weights([kernel[..., channels, :][..., units], bias[units]])
            channels = units
        elif not isinstance(old, passing):
            raise LearnParamError(
                "optimization.pruning",
                f"structured pruning cannot narrow a {type(old).__name__} layer",
            )


def _widths(model: Any, pruned: Any) -> list[tuple[Any, int, int]]:
    """(layer, filters/units/channels before, after) of every weighted layer but the output."""
    import keras

    rows = []
    for old, new in zip(model.layers[:-1], pruned.layers[:-1], strict=True):
        if isinstance(old, _weighted_layers(keras)):
            # A depthwise kernel is (kh, kw, channels, 1): its width is the channel axis.
            axis = -2 if isinstance(old, keras.layers.DepthwiseConv2D) else -1
            rows.append((old, int(old.kernel.shape[axis]), int(new.kernel.shape[axis])))
    return rows


def _fine_tune(
    model: Any, request: OptimizeRequest, *, patience: int, callbacks: list[Any] | None = None
) -> list[dict[str, float]]:
    return fit(
        model,
        request.data,
        epochs=request.settings["fine_tune_epochs"],
        batch_size=request.params["batch_size"],
        patience=patience,
        hooks=request.hooks,
        callbacks=callbacks or (),
    )


def _evaluated_on(data: FitData) -> str:
    return "validation" if data.x_val is not None else "training"


def _scores(model: Any, data: FitData, batch_size: int) -> dict[str, float]:
    """The compiled model's float loss and metric on the validation windows (else training)."""
    x, y = (data.x_fit, data.y_fit) if data.x_val is None else (data.x_val, data.y_val)
    result = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {"loss": float(result["loss"]), data.metric: float(result[data.metric])}
