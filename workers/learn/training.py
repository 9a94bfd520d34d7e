"""Training of a learning block on feature arrays: Keras fit (or K-means), progress, cancel."""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.learn import optimize
from workers.learn.base import LearnParamError, TrainingCancelled
from workers.learn.blocks import KerasBlock, get_learn_block
from workers.learn.fitting import FitData, FitHooks, best_epoch, compile_model, fit
from workers.learn.kmeans import fit_kmeans
from workers.learn.params import resolved_training, validation_fraction


@dataclass
class TrainResult:
    """What a training run produced; bytes and JSON-able values only.

    `history` holds one dict per epoch run: {"epoch": 1-based, "loss", "val_loss", and for
    classification "accuracy"/"val_accuracy", for regression "mae"/"val_mae"} (val_* only when
    there was a validation set). Anomaly blocks give `anomaly_state` and no Keras/tflite models.
    """

    block: str
    kind: str
    params: dict[str, Any]
    input_shape: tuple[int, ...]
    n_outputs: int
    history: list[dict[str, float]] = field(default_factory=list)
    keras_model: bytes | None = None
    float_tflite: bytes | None = None
    anomaly_state: dict[str, Any] | None = None
    stopped_early: bool = False
    best_epoch: int | None = None
    train_count: int = 0
    validation_count: int = 0
    # Seconds in model.fit alone, and for the whole call (conversion and saving included).
    fit_seconds: float = 0.0
    total_seconds: float = 0.0
    # Optimized runs: the steps' report, and `.keras` bytes of the models it compares with
    # (e.g. the distillation teacher and the student trained alone).
    optimization: dict[str, Any] | None = None
    companions: dict[str, bytes] = field(default_factory=dict)


def import_tensorflow() -> Any:
    """TensorFlow, quietened: imported here (never at module level) so the API stays light.

    `TINYSTUDIO_TRAINING_THREADS` (when set to N > 0 before the first call in a process) limits
    TensorFlow to N intra-op and N inter-op threads, so that one training job per core does not
    oversubscribe a shared machine.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    threads = int(os.environ.get("TINYSTUDIO_TRAINING_THREADS", "0") or 0)
    if threads > 0 and tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            # The runtime already started in this process: its thread pools are fixed now.
            pass
    return tf


def train(
    block_name: str,
    params: dict[str, Any] | None,
    x_train: np.ndarray,
    y_train: np.ndarray | None,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    n_classes: int,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    baseline_model: bytes | None = None,
    teacher_model: bytes | None = None,
) -> TrainResult:
    """Train `block_name` on features x (n, *input_shape) and labels y.

    Classification: y holds class indices 0..n_classes-1. Regression: y holds values (n,) or
    (n, n_classes) with n_classes = number of outputs. Anomaly: y is ignored (train on normal
    windows only). Without x_val, `validation_split` of the training windows is held out.
    `on_epoch(epoch, metrics)` is called after every epoch (epoch counts from 1);
    `should_stop()` is polled after every epoch; True raises TrainingCancelled.

    With an "optimization" setting, workers.learn.optimize runs instead of a plain fit:
    pruning and quantization-aware training start from `baseline_model`, distillation learns
    from `teacher_model` (`.keras` bytes of earlier runs of this impulse).
    """
    started = time.perf_counter()
    say = log or (lambda _line: None)
    block = get_learn_block(block_name)
    x_train = _features(x_train, "x_train")
    input_shape = tuple(int(d) for d in x_train.shape[1:])
    checked = block.validate_params(params, input_shape, n_classes)

    if block.kind == "anomaly":
        say(f"K-means: {checked['clusters']} clusters over {x_train.shape[0]} windows")
        if should_stop is not None and should_stop():
            raise TrainingCancelled(0)
        state = fit_kmeans(x_train, checked)
        summary = state["training_scores"]
        say(f"anomaly threshold {state['threshold']:.4f} (training scores {summary})")
        return TrainResult(
            block=block.name,
            kind=block.kind,
            params=checked,
            input_shape=input_shape,
            n_outputs=1,
            anomaly_state=state,
            train_count=int(x_train.shape[0]),
            total_seconds=time.perf_counter() - started,
        )

    assert isinstance(block, KerasBlock)
    y_train = _targets(y_train, x_train.shape[0], block.kind, n_classes, "y_train")
    if block.kind == "classification" and np.unique(y_train).size < 2:
        raise LearnParamError(
            "y_train",
            f"the training windows all carry label {int(y_train[0])}; a classifier needs "
            f"windows of at least 2 labels (train anomaly detection for one-class data)",
        )
    if x_val is None:
        checked["validation_split"] = validation_fraction(
            checked["validation_split"], x_train.shape[0]
        )
        x_train, y_train, x_val, y_val = _split(
            x_train, y_train, checked["validation_split"], checked["seed"], block.kind
        )
    elif np.asarray(x_val).shape[0] == 0:
        # An empty validation set (e.g. validation_split 0 upstream): train without one.
        x_val = y_val = None
    else:
        x_val = _features(x_val, "x_val")
        if x_val.shape[1:] != x_train.shape[1:]:
            raise LearnParamError(
                "x_val", f"windows shaped {x_val.shape[1:]}, training ones {x_train.shape[1:]}"
            )
        y_val = _targets(y_val, x_val.shape[0], block.kind, n_classes, "y_val")

    # Auto epochs and patience follow the optimizer steps these training windows give.
    checked = resolved_training(checked, x_train.shape[0])
    tf = import_tensorflow()
    import keras

    # A fresh session resets Keras' layer-name counters (so the same run gives byte-identical
    # artifacts) and drops the graphs of earlier jobs in this worker process.
    keras.backend.clear_session()
    keras.utils.set_random_seed(checked["seed"])
    tf.config.experimental.enable_op_determinism()
    n_outputs = n_classes
    flat_train = x_train.reshape(x_train.shape[0], -1)
    flat_val = None if x_val is None else x_val.reshape(x_val.shape[0], -1)
    class_weight = (
        _class_weights(y_train, n_classes)
        if checked["class_weighting"] and block.kind == "classification"
        else None
    )
    data = FitData(block.kind, flat_train, y_train, flat_val, y_val, class_weight)
    hooks = FitHooks(on_epoch, should_stop, say)
    fit_started = time.perf_counter()
    optimization: dict[str, Any] | None = None
    companions: dict[str, bytes] = {}
    stopped_early, best = False, None
    if optimize.requested(checked):
        outcome = optimize.optimize(
            optimize.OptimizeRequest(
                block, checked, input_shape, n_outputs, data, hooks, baseline_model, teacher_model
            )
        )
        model, checked, history = outcome.model, outcome.params, outcome.history
        optimization = outcome.report
        companions = {name: save_keras(m) for name, m in outcome.companions.items()}
    else:
        model = block.build_model(checked, input_shape, n_outputs)
        compile_model(model, block.kind, checked["learning_rate"])
        model.summary(print_fn=lambda line, *_a, **_k: say(line))
        say(
            f"training {block.name} on {flat_train.shape[0]} windows "
            f"({0 if flat_val is None else flat_val.shape[0]} for validation), "
            f"{checked['epochs']} epochs"
        )
        augmentation = checked["augmentation"]
        augmenting = augmentation["noise_std"] > 0 or augmentation["time_shift"] > 0
        patience = checked["early_stopping"]
        history = fit(
            model,
            data,
            epochs=checked["epochs"],
            batch_size=checked["batch_size"],
            patience=patience,
            hooks=hooks,
            x=(
                _augmented_batches(keras, flat_train, y_train, input_shape, checked, class_weight)
                if augmenting
                else None
            ),
        )
        stopped_early = len(history) < checked["epochs"]
        if stopped_early and patience > 0:
            best = best_epoch(history, validated=flat_val is not None)
            say(f"early stopping after epoch {len(history)}; best weights from epoch {best}")
    fit_seconds = time.perf_counter() - fit_started

    keras_bytes = save_keras(model)
    float_tflite = _float_tflite(tf, model)
    say(f"float model: {len(float_tflite)} bytes")
    return TrainResult(
        block=block.name,
        kind=block.kind,
        params=checked,
        input_shape=input_shape,
        n_outputs=n_outputs,
        history=history,
        keras_model=keras_bytes,
        float_tflite=float_tflite,
        stopped_early=stopped_early,
        best_epoch=best,
        train_count=int(flat_train.shape[0]),
        validation_count=0 if flat_val is None else int(flat_val.shape[0]),
        fit_seconds=fit_seconds,
        total_seconds=time.perf_counter() - started,
        optimization=optimization,
        companions=companions,
    )


def save_keras(model: Any) -> bytes:
    """The model as `.keras` file bytes (Keras saves to a path only)."""
    with tempfile.TemporaryDirectory(prefix="tinystudio-keras-") as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def load_keras(data: bytes) -> Any:
    """A Keras model from `.keras` file bytes."""
    import_tensorflow()
    import keras

    with tempfile.TemporaryDirectory(prefix="tinystudio-keras-") as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return keras.models.load_model(path, compile=False)


def _float_tflite(tf: Any, model: Any) -> bytes:
    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(tflite_converter(tf, model).convert())


def float_tflite(model: bytes | Any) -> bytes:
    """The float32 `.tflite` of `model` (`.keras` bytes or a Keras model)."""
    tf = import_tensorflow()
    return _float_tflite(tf, load_keras(bytes(model)) if isinstance(model, bytes) else model)


def tflite_converter(tf: Any, model: Any) -> Any:
    """A converter for `model` with its input fixed to one window (1, features).

    A fixed batch of 1 keeps every shape static, so reshapes convert to a plain RESHAPE
    instead of SHAPE/STRIDED_SLICE/PACK arithmetic that the device compiler does not run.
    Converting a concrete function (variables frozen to constants) takes ~0.5 s where
    `from_keras_model` (a SavedModel export underneath) takes ~1.7 s, for the same graph.
    """
    width = int(np.prod(model.input_shape[1:]))

    # No AutoGraph: the body has no Python control flow to convert, and AutoGraph cannot read
    # the source of a closure defined here (it warns, then runs it as-is anyway).
    @tf.function(
        input_signature=[tf.TensorSpec([1, width], tf.float32, name="features")], autograph=False
    )
    def serve(features: Any) -> Any:
        return model(features, training=False)

    return tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])


def _features(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] == 0:
        raise LearnParamError(name, f"must hold at least one window of features, got {x.shape}")
    if not np.isfinite(x).all():
        raise LearnParamError(name, "features hold NaN or infinite values")
    return x


def _targets(y: Any, n: int, kind: str, n_classes: int, name: str) -> np.ndarray:
    if y is None:
        raise LearnParamError(name, "labels are required")
    y = np.asarray(y)
    if y.shape[0] != n:
        raise LearnParamError(name, f"{y.shape[0]} labels for {n} windows")
    if kind == "classification":
        if y.ndim != 1 or not np.all(np.equal(np.mod(y, 1), 0)):
            raise LearnParamError(name, "must be class indices (n,)")
        y = y.astype(np.int64)
        if y.min() < 0 or y.max() >= n_classes:
            raise LearnParamError(name, f"class indices must be within 0..{n_classes - 1}")
        return y
    y = y.astype(np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[1] != n_classes or not np.isfinite(y).all():
        raise LearnParamError(name, f"must hold {n_classes} finite value(s) per window")
    return y


def _split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, kind: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Hold out `fraction` of the windows, per class for classifiers, drawn with `seed`."""
    if fraction <= 0:
        return x, y, None, None
    rng = np.random.default_rng(seed)
    groups = (
        [np.flatnonzero(y == c) for c in np.unique(y)]
        if kind == "classification"
        else [np.arange(x.shape[0])]
    )
    held: list[np.ndarray] = []
    for members in groups:
        members = rng.permutation(members)
        # A class with one window stays in training: it cannot be learnt from zero examples.
        count = min(int(math.floor(fraction * members.size + 0.5)), members.size - 1)
        held.append(members[:count])
    val_index = np.sort(np.concatenate(held))
    train_mask = np.ones(x.shape[0], dtype=bool)
    train_mask[val_index] = False
    return x[train_mask], y[train_mask], x[val_index], y[val_index]


def _class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = y.size / (present.sum() * counts[present])
    return {c: float(w) for c, w in enumerate(weights)}


def _augmented_batches_class(keras: Any) -> type:
    class AugmentedBatches(keras.utils.PyDataset):  # type: ignore[misc]
        """Shuffled training batches with noise and time shift, redrawn every epoch with a
        generator seeded by (seed, epoch) so that runs repeat exactly."""

        def __init__(
            self,
            x: np.ndarray,
            y: np.ndarray,
            input_shape: tuple[int, ...],
            params: dict[str, Any],
            class_weight: dict[int, float] | None,
        ) -> None:
            super().__init__()
            self.x, self.y = x, y
            self.input_shape = input_shape
            self.batch_size = params["batch_size"]
            self.seed = params["seed"]
            self.noise = params["augmentation"]["noise_std"] * x.std(axis=0)
            self.shift = params["augmentation"]["time_shift"] if len(input_shape) >= 2 else 0
            self.sample_weight = (
                None
                if class_weight is None
                else np.array([class_weight[int(c)] for c in y], dtype=np.float32)
            )
            self.epoch = 0
            self._draw()

        def _draw(self) -> None:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = rng.permutation(self.x.shape[0])
            x = self.x[order]
            if self.shift > 0:
                steps = self.input_shape[0]
                frames = x.reshape(x.shape[0], steps, -1)
                offset = rng.integers(-self.shift, self.shift + 1, size=x.shape[0])
                source = np.arange(steps)[None, :] - offset[:, None]
                inside = (source >= 0) & (source < steps)
                shifted = np.take_along_axis(frames, np.clip(source, 0, steps - 1)[..., None], 1)
                x = (shifted * inside[..., None]).reshape(x.shape[0], -1)
            if np.any(self.noise > 0):
                x = x + rng.standard_normal(x.shape).astype(np.float32) * self.noise
            self.batch_x = x.astype(np.float32)
            self.batch_y = self.y[order]
            self.batch_w = None if self.sample_weight is None else self.sample_weight[order]

        def __len__(self) -> int:
            return math.ceil(self.x.shape[0] / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            if self.batch_w is None:
                return self.batch_x[part], self.batch_y[part]
            return self.batch_x[part], self.batch_y[part], self.batch_w[part]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._draw()

    return AugmentedBatches


def _augmented_batches(
    keras: Any,
    x: np.ndarray,
    y: np.ndarray,
    input_shape: tuple[int, ...],
    params: dict[str, Any],
    class_weight: dict[int, float] | None,
) -> Any:
    return _augmented_batches_class(keras)(x, y, input_shape, params, class_weight)
