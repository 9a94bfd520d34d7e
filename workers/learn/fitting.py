"""One Keras fit loop for every way a model is trained: plain training, fine-tuning after
pruning or with fake quantization, distillation. Progress, cancel and early stopping behave the
same in all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.learn.base import TrainingCancelled


@dataclass
class FitData:
    """Flat training (and optional validation) windows with their targets, ready for Keras:
    x shaped (n, features); y class indices for classification, (n, outputs) values otherwise."""

    kind: str
    x_fit: np.ndarray
    y_fit: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    class_weight: dict[int, float] | None = None

    @property
    def metric(self) -> str:
        """The metric Keras reports next to the loss."""
        return "accuracy" if self.kind == "classification" else "mae"


@dataclass
class FitHooks:
    """What a fit tells the job: `on_epoch(epoch, metrics)` after every epoch (epochs count from
    1 within one fit), `should_stop()` polled after every epoch, `say(line)` for the log."""

    on_epoch: Callable[[int, dict[str, float]], None] | None = None
    should_stop: Callable[[], bool] | None = None
    say: Callable[[str], None] = field(default=lambda _line: None)


def compile_model(model: Any, kind: str, learning_rate: float, *, loss: Any = None) -> None:
    """Adam with the block kind's loss (or `loss`) and metric."""
    import keras

    if loss is None:
        loss = (
            "sparse_categorical_crossentropy" if kind == "classification" else "mean_squared_error"
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=["accuracy" if kind == "classification" else "mae"],
    )


def fit(
    model: Any,
    data: FitData,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    hooks: FitHooks,
    x: Any = None,
    callbacks: Sequence[Any] = (),
) -> list[dict[str, float]]:
    """Fits the compiled `model` for at most `epochs` and returns one row per epoch run
    ({"epoch", "loss", metric, and val_* with a validation set}).

    `patience` > 0 stops when the validation loss (the training loss without a validation set)
    has not improved for that many epochs and restores the best weights. `x` replaces the
    (x_fit, y_fit) arrays with a Keras dataset (e.g. augmented batches)."""
    import keras

    history: list[dict[str, float]] = []
    all_callbacks: list[Any] = [_progress(keras, history, data.metric, hooks), *callbacks]
    if patience > 0:
        all_callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss" if data.x_val is not None else "loss",
                patience=patience,
                restore_best_weights=True,
            )
        )
    source: dict[str, Any] = (
        {"x": x}
        if x is not None
        else {
            "x": data.x_fit,
            "y": data.y_fit,
            "batch_size": batch_size,
            "shuffle": True,
            "class_weight": data.class_weight,
        }
    )
    model.fit(
        **source,
        epochs=epochs,
        validation_data=None if data.x_val is None else (data.x_val, data.y_val),
        callbacks=all_callbacks,
        verbose=0,
    )
    return history


def best_epoch(history: list[dict[str, float]], *, validated: bool) -> int:
    """The 1-based epoch whose weights early stopping kept."""
    key = "val_loss" if validated else "loss"
    return int(np.argmin([row[key] for row in history])) + 1


def _progress(keras: Any, history: list[dict[str, float]], metric: str, hooks: FitHooks) -> Any:
    keys = ("loss", metric, "val_loss", f"val_{metric}")

    class Progress(keras.callbacks.Callback):  # type: ignore[misc]
        """Records each epoch, reports it, and turns a stop request into TrainingCancelled.

        It has no batch hook on purpose: any batch-level callback makes Keras wait for every
        step's metrics (synchronous dispatch), which costs about a third of the training time
        of a small model; a stop request is therefore honoured at the end of the epoch.
        """

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            row: dict[str, float] = {"epoch": epoch + 1}
            row.update({k: float(logs[k]) for k in keys if k in logs})
            history.append(row)
            hooks.say(
                f"epoch {epoch + 1}: " + ", ".join(f"{k} {row[k]:.4f}" for k in keys if k in row)
            )
            if hooks.on_epoch is not None:
                hooks.on_epoch(epoch + 1, {k: v for k, v in row.items() if k != "epoch"})
            if hooks.should_stop is not None and hooks.should_stop():
                raise TrainingCancelled(len(history))

    return Progress()
