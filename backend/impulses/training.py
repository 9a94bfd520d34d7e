"""The training pipeline every training job shares: split by sample, train, quantize to int8,
evaluate float and int8, store the artifacts, and give the result a training run shows.

TensorFlow is only imported inside it (through workers.learn), in the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.datasets.models import Category
from backend.impulses.features import FeatureData
from backend.impulses.splits import split_by_sample, split_warnings
from backend.jobs.lifecycle import JobContext, JobFailed
from workers.learn.params import resolved_training, validation_fraction


@dataclass
class TrainingOutcome:
    """What one training produced: the job's result, the run's metrics, the artifacts' ids and
    how long each stage took."""

    result: dict[str, Any]
    metrics: dict[str, Any]
    artifacts: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    # The int8 model (when there is one), for measurements after the run.
    int8_tflite: bytes | None = None


def targets(kind: str, labels: list[str | None], classes: list[str]) -> np.ndarray:
    """Training targets of every window: numbers for regression, class indices (-1 unknown)."""
    if kind == "regression":
        return np.asarray([float(label) for label in labels], dtype=np.float32)  # type: ignore[arg-type]
    index = {label: i for i, label in enumerate(classes)}
    return np.asarray([index.get(label, -1) for label in labels], dtype=np.int64)  # type: ignore[arg-type]


def run_metrics(learn_index: int, result: dict[str, Any]) -> dict[str, Any]:
    """What a training run keeps of a training job's result."""
    return {
        "learn_index": learn_index, "params": result["params"], "classes": result["classes"],
        "kind": result["kind"], "evaluation": result.get("evaluation"),
        "anomaly": result.get("anomaly"), "epochs": len(result["epochs"]),
        "optimization": result.get("optimization"), "warnings": result.get("warnings", []),
    }  # fmt: skip


def train_and_evaluate(
    ctx: JobContext,
    *,
    features: FeatureData,
    block_name: str,
    learn_params: dict[str, Any],
    learn_index: int = 0,
    normal_labels: list[str] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    baseline_model: bytes | None = None,
    teacher_model: bytes | None = None,
) -> TrainingOutcome:
    """Keras training (progress per epoch) → int8 → evaluation of float and int8 → artifacts.

    `on_epoch(epoch, metrics)` runs after the job's own epoch report; `should_stop()` (default:
    the job was cancelled) ends training with workers.learn.TrainingCancelled, raised unless
    the job itself was cancelled (then JobCancelled)."""
    from workers import learn

    block = learn.LEARN_BLOCKS[block_name]
    params = block.validate_params(
        learn_params, tuple(features.features.shape[1:]),
        max(2, len({lbl for lbl in features.labels if lbl is not None})),
    )  # fmt: skip
    x = features.features
    categories = np.asarray(features.categories)
    labels = features.labels
    is_training = categories == Category.training
    is_testing = categories == Category.testing
    if block.kind == "anomaly":
        # Unlabelled training windows count as normal too.
        normal: set[Any] = set(normal_labels or []) or {
            lbl for lbl, c in zip(labels, categories, strict=True) if c == Category.training
        }
        is_training = is_training & np.array([lbl in normal for lbl in labels])
        classes = sorted(normal, key=str)
    else:
        classes = sorted({lbl for lbl, c in zip(labels, categories, strict=True)
                          if c == Category.training and lbl is not None})  # fmt: skip
    train_idx = np.flatnonzero(
        is_training & np.array([lbl is not None or block.kind == "anomaly" for lbl in labels])
    )
    # Auto (None) holds out a fifth only when there are enough windows to judge epochs by.
    fraction = validation_fraction(params.get("validation_split"), len(train_idx))
    if "validation_split" in params:
        params["validation_split"] = fraction
    # Classes are split per label, so that none loses all its training samples; numbers
    # (regression) and K-means' normal windows are drawn as one group.
    split_labels = [labels[i] for i in train_idx] if block.kind == "classification" else None
    fit_mask, val_mask = split_by_sample(
        features.sample_ids[train_idx], fraction, int(params.get("seed", 1)), split_labels
    )
    fit_idx, val_idx = train_idx[fit_mask], train_idx[val_mask]
    if "epochs" in params:  # auto epochs and patience, for the progress bar's epoch count
        params = resolved_training(params, len(fit_idx))
    # K-means has no validation, so only the Keras blocks' splits are worth a warning.
    warnings = (
        []
        if block.kind == "anomaly"
        else split_warnings(features.sample_ids[train_idx], split_labels, val_mask, fraction)
    )
    for warning in warnings:
        ctx.log(f"warning: {warning}")
    if block.kind == "anomaly":
        y_all = np.zeros(len(x), dtype=np.int64)
    else:
        y_all = targets(block.kind, labels, classes)
    if block.kind == "classification":
        # Test windows whose label the model never saw cannot be scored as right or wrong.
        is_testing = is_testing & (y_all >= 0)
    test_idx = np.flatnonzero(is_testing)
    ctx.log(
        f"training {block_name} on {len(fit_idx)} windows, validating on {len(val_idx)}, "
        f"testing on {len(test_idx)}; classes: {classes}"
    )
    epochs: list[dict[str, Any]] = []

    def report_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        metrics = {k: float(v) for k, v in metrics.items() if k != "epoch"}
        epochs.append({"epoch": epoch, **metrics})
        total = max(int(params.get("epochs") or 1), 1)
        ctx.progress(0.15 + 0.6 * min(epoch / total, 1.0), f"epoch {epoch}/{total}", force=True)
        ctx.set_partial_result({"epochs": epochs})
        ctx.log(
            "epoch " + str(epoch) + ": " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        )
        if on_epoch is not None:
            on_epoch(epoch, metrics)

    try:
        trained = learn.train(
            block_name, params, x[fit_idx], y_all[fit_idx], x[val_idx], y_all[val_idx],
            n_classes=len(classes), on_epoch=report_epoch,
            should_stop=should_stop or ctx.is_cancelled, log=ctx.log,
            baseline_model=baseline_model, teacher_model=teacher_model,
        )  # fmt: skip
    except learn.TrainingCancelled:
        ctx.check_cancelled()
        raise
    # Keras fit, then the float conversion and saving (K-means has no fit/convert split).
    train_s = trained.fit_seconds or trained.total_seconds
    timings = {"train_s": train_s, "convert_s": trained.total_seconds - train_s}
    result: dict[str, Any] = {
        "block": block_name, "kind": block.kind, "classes": classes, "epochs": epochs,
        "windows": {"train": len(fit_idx), "validation": len(val_idx), "test": len(test_idx)},
        "feature_shape": list(x.shape[1:]), "params": trained.params, "warnings": warnings,
    }  # fmt: skip
    artifacts: dict[str, int] = {}
    if block.kind == "anomaly":
        evaluating = time.perf_counter()
        result.update(_anomaly_results(learn, trained, x, labels, classes, test_idx, features))
        timings["evaluate_s"] = time.perf_counter() - evaluating
        artifacts["anomaly.json"] = ctx.put_artifact(
            "anomaly.json",
            "anomaly-model",
            json.dumps(trained.anomaly_state).encode(),
            "application/json",
        )
    else:
        if trained.keras_model is None or trained.float_tflite is None:
            raise JobFailed(f"{block_name} produced no model")
        ctx.progress(0.78, "quantizing to int8")
        converting = time.perf_counter()
        int8 = learn.quantize_int8(trained.keras_model, x[fit_idx], seed=int(params.get("seed", 1)))
        timings["convert_s"] += time.perf_counter() - converting
        models: tuple[tuple[str, bytes], ...] = (("float32", trained.float_tflite), ("int8", int8))
        ctx.progress(0.85, "evaluating float and int8 models")
        evaluating = time.perf_counter()
        evaluation: dict[str, Any] = {}
        for name, model in models:
            evaluation[name] = {
                split: learn.evaluate(model, x[idx], y_all[idx], kind=block.kind, labels=classes)
                for split, idx in (("validation", val_idx), ("test", test_idx))
                if len(idx)
            }
        timings["evaluate_s"] = time.perf_counter() - evaluating
        result["evaluation"] = evaluation_summary(evaluation)
        result["test_windows"] = per_window(evaluation, test_idx, features, classes, block.kind)
        result["model_bytes"] = {
            "float32_tflite": len(trained.float_tflite),
            "int8_tflite": len(int8),
        }
        if trained.optimization is not None:
            result["optimization"] = {
                **trained.optimization,
                "companions": _companions(learn, trained, x, y_all, fit_idx, test_idx, block.kind,
                                          classes, int(params.get("seed", 1))),
            }  # fmt: skip
        for name, content, kind in (
            ("model.keras", trained.keras_model, "keras-model"),
            ("model-float32.tflite", trained.float_tflite, "tflite-float32"),
            ("model-int8.tflite", int8, "tflite-int8"),
        ):
            artifacts[name] = ctx.put_artifact(name, kind, content)
    artifacts["metrics.json"] = ctx.put_artifact(
        "metrics.json", "metrics", json.dumps(result).encode(), "application/json"
    )
    return TrainingOutcome(
        result=result,
        metrics=run_metrics(learn_index, result),
        artifacts=artifacts,
        timings={k: round(v, 3) for k, v in timings.items()},
        int8_tflite=None if block.kind == "anomaly" else int8,
    )


def _companions(
    learn: Any, trained: Any, x: np.ndarray, y: np.ndarray, fit_idx: np.ndarray,
    test_idx: np.ndarray, kind: str, classes: list[str], seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Test accuracy (float and int8) and size of the models an optimization compares its
    result with, e.g. the distillation teacher and the student trained alone."""
    out = {}
    for name, keras_model in trained.companions.items():
        int8 = learn.quantize_int8(keras_model, x[fit_idx], seed=seed)
        scores = {
            precision: _summary(
                learn.evaluate(model, x[test_idx], y[test_idx], kind=kind, labels=classes)
            )
            for precision, model in (("float32", learn.float_tflite(keras_model)), ("int8", int8))
        }
        out[name] = {
            "float32_test": scores["float32"],
            "int8_test": scores["int8"],
            "int8_tflite_bytes": len(int8),
        }
    return out


def compare_on_device(
    ctx: JobContext,
    outcome: TrainingOutcome,
    spec: Any,
    axes: int,
    links: dict[str, Any],
) -> None:
    """Builds the optimized run's int8 model and its baseline's as firmware for the run's
    board and puts what each measures (MACs, RAM, flash, instructions) into the run."""
    from backend.core.db import get_sessionmaker
    from backend.impulses.optimization import artifact_bytes, device_comparison

    if outcome.int8_tflite is None or "optimization" not in outcome.result:
        return
    models = {"optimized": outcome.int8_tflite}
    with get_sessionmaker()() as db:
        baseline = artifact_bytes(db, links.get("baseline_run_id"), "model-int8.tflite")
    if baseline is not None:
        models = {"baseline": baseline, **models}
    ctx.progress(0.92, f"building and measuring the models on {links['board_id']}")
    measuring = time.perf_counter()
    try:
        device = device_comparison(
            board_id=links["board_id"], spec=spec.model_dump(), axes=axes,
            labels=outcome.result["classes"], models=models,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the model stays usable; the page says why
        ctx.log(f"could not measure the models on {links['board_id']}: {exc}")
        device = {"board_id": links["board_id"], "error": str(exc)}
    outcome.timings["measure_s"] = round(time.perf_counter() - measuring, 3)
    outcome.result["optimization"]["device"] = device
    outcome.result["optimization"]["links"] = links
    outcome.metrics["optimization"] = outcome.result["optimization"]


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The evaluation without the per-window arrays (kept separately)."""
    return {k: v for k, v in metrics.items() if k != "predictions"}


def evaluation_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """{precision: {split: metrics}} without the per-window arrays, as a run keeps it."""
    return {
        name: {split: _summary(metrics) for split, metrics in by_split.items()}
        for name, by_split in evaluation.items()
    }


def per_window(
    evaluation: dict[str, Any],
    test_idx: np.ndarray,
    features: FeatureData,
    classes: list[str],
    kind: str,
) -> list[dict[str, Any]]:
    """Each test window's int8 (and float32, when there is a float model) result: what the
    device test compares the device's answers with."""
    test_int8 = evaluation.get("int8", {}).get("test")
    if test_int8 is None:
        return []
    # An uploaded int8 model has no float twin: its float32 column stays empty.
    test_float = evaluation.get("float32", {}).get("test") or {
        "predictions": [{"predicted": None}] * len(test_idx)
    }
    rows = []
    for position, index in enumerate(test_idx.tolist()):
        by_float = test_float["predictions"][position]
        by_int8 = test_int8["predictions"][position]
        row: dict[str, Any] = {
            "sample_id": int(features.sample_ids[index]),
            "window_start_ms": float(features.starts_ms[index]),
            "label": features.labels[index],
        }
        if kind == "classification":
            predicted = by_float["predicted"]
            row.update(
                float32=None if predicted is None else classes[predicted],
                int8=classes[by_int8["predicted"]],
                correct_int8=by_int8["correct"], scores_int8=by_int8["scores"],
            )  # fmt: skip
        else:
            row.update(float32=by_float["predicted"], int8=by_int8["predicted"])
        rows.append(row)
    return rows


def _anomaly_results(
    learn: Any, trained: Any, x: np.ndarray, labels: list[str | None], normal: list[str],
    test_idx: np.ndarray, features: FeatureData,
) -> dict[str, Any]:  # fmt: skip
    scores = learn.anomaly_scores(trained.anomaly_state, x[test_idx])
    truth = np.array([labels[i] not in normal for i in test_idx.tolist()], dtype=np.int64)
    metrics = (
        learn.evaluate(
            trained.anomaly_state, x[test_idx], truth, kind="anomaly", labels=["normal", "anomaly"]
        )
        if len(test_idx)
        else {}
    )
    return {
        "anomaly": {
            "threshold": trained.anomaly_state.get("threshold"),
            "test": _summary(metrics),
        },
        "test_windows": [
            {
                "sample_id": int(features.sample_ids[i]),
                "window_start_ms": float(features.starts_ms[i]),
                "label": labels[i],
                "score": float(s),
            }
            for i, s in zip(test_idx.tolist(), scores.tolist(), strict=True)
        ],
    }
