"""Inference with LiteRT (float or int8 `.tflite`) and a model's metrics on labelled windows."""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.compiler.litert import dequantize_output, quantize_input, reference_interpreter
from workers.learn.base import KINDS, LearnParamError
from workers.learn.kmeans import anomaly_scores

# Points kept of a ROC curve sent to the browser.
ROC_POINTS = 101


def predict(model: bytes | dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Scores of every window: class probabilities (n, classes) or values (n, outputs) from a
    `.tflite` (int8 inputs quantised, outputs dequantised, as the device does), or anomaly
    scores (n,) from a K-means state dict."""
    x = np.asarray(x, dtype=np.float32)
    if isinstance(model, dict):
        return anomaly_scores(model, x)
    raw, target = model_outputs(model, x)
    return dequantize_output(raw, target)


def model_outputs(model: bytes, x: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Output 0 of the `.tflite` `model` for every window (n, outputs) in the model's output
    type (int8 for an int8 model), computed as the deployed C computes it, and the output's
    tensor details (quantization)."""
    flat = np.asarray(x, dtype=np.float32).reshape(x.shape[0], -1)
    interpreter = reference_interpreter(model)
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    width = int(np.prod(source["shape"][1:]))
    if flat.shape[1] != width:
        raise LearnParamError("x", f"windows of {flat.shape[1]} features; the model takes {width}")
    out_width = int(np.prod(target["shape"][1:]))
    out = np.zeros((flat.shape[0], out_width), dtype=target["dtype"])
    # Models are converted for one window at a time (static shapes for the device), so they
    # are run window by window; quantisation is done for all windows at once.
    inputs = quantize_input(flat, source)
    for i in range(flat.shape[0]):
        interpreter.set_tensor(source["index"], inputs[i : i + 1].reshape(source["shape"]))
        interpreter.invoke()
        out[i] = interpreter.get_tensor(target["index"]).reshape(-1)
    return out, target


def shortest_float32(value: float | np.floating) -> float:
    """The shortest decimal that reads back as float32 `value`, as the device prints scores:
    the studio's int8 scores then equal the device's digit for digit."""
    return float(str(np.float32(value)))


def evaluate(
    model: bytes | dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    kind: str,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """Metrics of `model` on windows x with ground truth y, JSON-able.

    classification (y = class indices, labels = class names): accuracy, per-class
    precision/recall/F1, confusion matrix (rows = true), ROC AUC and curve when binary;
    regression (y = values): MAE, RMSE, R^2; anomaly (model = K-means state, y = 1 for
    anomalous windows, 0 for normal ones): ROC AUC and curve of the scores, and the
    normal/anomaly metrics at the state's threshold. Every kind lists a prediction per window.
    """
    if kind not in KINDS:
        raise LearnParamError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if y.shape[0] != x.shape[0]:
        raise LearnParamError("y", f"{y.shape[0]} labels for {x.shape[0]} windows")
    if kind == "anomaly":
        if not isinstance(model, dict):
            raise LearnParamError("model", "anomaly evaluation takes the K-means state")
        return _evaluate_anomaly(model, x, y.astype(np.int64), labels)
    scores = predict(model, x)
    if kind == "regression":
        return _evaluate_regression(scores, y)
    return _evaluate_classification(scores, y.astype(np.int64), labels)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows = true)."""
    n = len(labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    true_count = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    hits = np.diag(confusion)
    precision = np.divide(hits, predicted_count, out=np.zeros(n), where=predicted_count > 0)
    recall = np.divide(hits, true_count, out=np.zeros(n), where=true_count > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(n), where=both > 0)
    per_class = [
        {
            "label": labels[c],
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(true_count[c]),
        }
        for c in range(n)
    ]
    present = true_count > 0
    return {
        "count": int(y_true.size),
        "accuracy": float(hits.sum() / y_true.size) if y_true.size else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "labels": list(labels),
    }


# Scores of int8 models are multiples of 1/256, so a true class can score exactly 0: its loss
# counts as -log(LOG_LOSS_FLOOR) instead of infinity.
LOG_LOSS_FLOOR = 1e-7


def log_loss(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Mean cross-entropy of the class scores (probabilities) against the true classes; None
    without windows. Finer than accuracy where models score every window right."""
    if not y.size:
        return None
    true_scores = np.clip(scores[np.arange(y.size), y].astype(np.float64), LOG_LOSS_FLOOR, 1.0)
    return float(-np.log(true_scores).mean())


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve of `score` for positives y_true == 1 (ties count one half);
    None when only one class is present."""
    y_true = np.asarray(y_true).astype(bool)
    positives = int(y_true.sum())
    negatives = y_true.size - positives
    if positives == 0 or negatives == 0:
        return None
    # Mann-Whitney U from average ranks: equal to the trapezoidal ROC area, ties included.
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(score.size)
    sorted_scores = np.asarray(score)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    u = ranks[y_true].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """False and true positive rates at every distinct threshold (score >= t), thinned to at
    most ROC_POINTS points for display."""
    y_true = np.asarray(y_true).astype(bool)
    order = np.argsort(-np.asarray(score), kind="mergesort")
    s = np.asarray(score)[order]
    t = y_true[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.array([], int)
    tp = np.cumsum(t)[last_of_value]
    fp = np.cumsum(~t)[last_of_value]
    tpr = np.r_[0.0, tp / max(int(t.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int((~t).sum()), 1)]
    thresholds = np.r_[np.inf, s[last_of_value]]
    if tpr.size > ROC_POINTS:
        keep = np.unique(np.linspace(0, tpr.size - 1, ROC_POINTS).round().astype(int))
        tpr, fpr, thresholds = tpr[keep], fpr[keep], thresholds[keep]
    return {
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": [float(v) if np.isfinite(v) else None for v in thresholds],
    }


def _evaluate_classification(
    scores: np.ndarray, y: np.ndarray, labels: list[str] | None
) -> dict[str, Any]:
    n_classes = scores.shape[1]
    names = list(labels) if labels is not None else [str(c) for c in range(n_classes)]
    if len(names) != n_classes:
        raise LearnParamError("labels", f"{len(names)} labels for a model of {n_classes} classes")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise LearnParamError("y", f"class indices must be within 0..{n_classes - 1}")
    predicted = scores.argmax(axis=1) if scores.size else np.zeros(0, dtype=np.int64)
    out: dict[str, Any] = {"kind": "classification"}
    out.update(classification_metrics(y, predicted, names))
    out["log_loss"] = log_loss(scores, y)
    out["roc_auc"] = None
    if n_classes == 2:
        out["roc_auc"] = roc_auc(y == 1, scores[:, 1])
        if out["roc_auc"] is not None:
            out["roc"] = roc_curve(y == 1, scores[:, 1])
    out["predictions"] = [
        {
            "index": i,
            "true": int(y[i]),
            "predicted": int(predicted[i]),
            "correct": bool(y[i] == predicted[i]),
            "scores": [shortest_float32(v) for v in scores[i]],
        }
        for i in range(y.size)
    ]
    return out


def _evaluate_regression(scores: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    truth = y.astype(np.float64).reshape(scores.shape[0], -1)
    error = scores.astype(np.float64) - truth
    spread = ((truth - truth.mean(axis=0)) ** 2).sum()
    return {
        "kind": "regression",
        "count": int(truth.shape[0]),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "r2": float(1.0 - (error**2).sum() / spread) if spread > 0 else None,
        "predictions": [
            {
                "index": i,
                "true": [float(v) for v in truth[i]],
                "predicted": [round(float(v), 6) for v in scores[i]],
                "error": [round(float(v), 6) for v in error[i]],
            }
            for i in range(truth.shape[0])
        ],
    }


def _evaluate_anomaly(
    state: dict[str, Any], x: np.ndarray, y: np.ndarray, labels: list[str] | None
) -> dict[str, Any]:
    scores = anomaly_scores(state, x)
    threshold = float(state["threshold"])
    flagged = (scores > threshold).astype(np.int64)
    names = list(labels) if labels is not None else ["normal", "anomaly"]
    out: dict[str, Any] = {"kind": "anomaly", "threshold": threshold}
    out.update(classification_metrics(y, flagged, names))
    out["roc_auc"] = roc_auc(y == 1, scores)
    if out["roc_auc"] is not None:
        out["roc"] = roc_curve(y == 1, scores)
    out["predictions"] = [
        {
            "index": i,
            "true": int(y[i]),
            "predicted": int(flagged[i]),
            "correct": bool(y[i] == flagged[i]),
            "score": round(float(scores[i]), 6),
        }
        for i in range(y.size)
    ]
    return out
