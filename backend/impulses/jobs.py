"""Feature generation and training jobs: thin wrappers around the pipeline in `workers/`.

TensorFlow is only imported inside the training task (through workers.learn), in the worker."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.blobs import get_blob_store
from backend.core.db import get_sessionmaker
from backend.core.errors import ApiError
from backend.datasets import service as datasets
from backend.datasets.models import Category, DatasetVersion
from backend.impulses import service
from backend.impulses.models import FeatureSet, Impulse, ImpulseVersion, TrainingRun
from backend.impulses.schemas import ImpulseSpec
from backend.jobs import service as jobs
from backend.jobs.celery_app import QUEUE_LIGHT, QUEUE_TRAINING
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.jobs.models import Job

MAX_REPRESENTATIVE = 300


def refuse(field: str, message: str) -> ApiError:
    return ApiError(400, "cannot_train", message, field=field)


def _dataset_version(
    *, db: Session, project_id: int, version_id: int | None, user: User, reason: str
) -> DatasetVersion:
    if version_id is not None:
        version = db.get(DatasetVersion, version_id)
        if version is None or version.project_id != project_id:
            raise refuse("dataset_version_id", f"dataset version {version_id} does not exist")
        return version
    return datasets.create_version(db=db, project_id=project_id, name=reason, user=user)


def _check_data(spec: ImpulseSpec, version: DatasetVersion, learn_index: int) -> None:
    """Refuses a run that could only fail: say what to change instead."""
    if learn_index >= len(spec.learn):
        raise refuse("learn_index", f"the impulse has {len(spec.learn)} learning block(s)")
    from workers import learn

    kind = learn.LEARN_BLOCKS[spec.learn[learn_index].block].kind
    training = [e for e in version.entries if e["category"] == Category.training]
    testing = [e for e in version.entries if e["category"] == Category.testing]
    if not training:
        raise refuse(
            "dataset", "there is no enabled training data: upload or move samples to training"
        )
    if not testing:
        raise refuse(
            "dataset",
            "there is no testing data: move some samples to testing (or run 'rebalance') so the "
            "model can be evaluated",
        )
    if kind == "classification":
        labels = {e["label"] for e in training if e["label"] is not None}
        if len(labels) < 2:
            raise refuse(
                "dataset",
                f"a classifier needs at least two labels in the training data; it has "
                f"{len(labels)} ({', '.join(sorted(labels)) or 'none'})",
            )
    if kind == "regression":
        for entry in training + testing:
            try:
                float(entry["label"])
            except (TypeError, ValueError):
                raise refuse(
                    "dataset",
                    f"regression needs numeric labels; sample {entry['sample_id']} is labelled "
                    f"{entry['label']!r}",
                ) from None
    axes = {e["axes"] for e in version.entries}
    if len(axes) > 1:
        raise refuse("dataset", f"the samples have different axis counts ({sorted(axes)})")
    if (
        not spec.input.zero_pad
        and max(e["length"] * e["interval_ms"] for e in version.entries) < spec.input.window_ms
    ):
        raise refuse("input.window_ms", "the window is longer than every sample")


def start_features(
    *, db: Session, impulse: Impulse, user: User, dataset_version_id: int | None
) -> Job:
    version = service.current_version(db=db, impulse=impulse)
    data = _dataset_version(
        db=db, project_id=impulse.project_id, version_id=dataset_version_id, user=user,
        reason=f"features of impulse {impulse.id} v{version.version}",
    )  # fmt: skip
    if not data.entries:
        raise refuse("dataset", "the project has no enabled samples yet")
    spec = ImpulseSpec.model_validate(version.spec)
    service.shapes(spec, data.entries[0]["axes"], 2)
    db.commit()
    return jobs.create(
        db=db, project_id=impulse.project_id, kind="impulse.features", user=user,
        params={"impulse_version_id": version.id, "dataset_version_id": data.id},
    )  # fmt: skip


def start_training(
    *,
    db: Session,
    impulse: Impulse,
    user: User,
    learn_index: int,
    dataset_version_id: int | None,
    params: dict[str, Any] | None,
    normal_labels: list[str] | None = None,
) -> TrainingRun:
    version = service.current_version(db=db, impulse=impulse)
    spec = ImpulseSpec.model_validate(version.spec)
    if params is not None and learn_index < len(spec.learn):
        spec.learn[learn_index].params = params
    data = _dataset_version(
        db=db, project_id=impulse.project_id, version_id=dataset_version_id, user=user,
        reason=f"training of impulse {impulse.id} v{version.version}",
    )  # fmt: skip
    _check_data(spec, data, learn_index)
    labels = sorted({e["label"] for e in data.entries if e["label"] is not None})
    if normal_labels is not None:
        unknown = sorted(set(normal_labels) - set(labels))
        if unknown or not normal_labels:
            raise refuse(
                "normal_labels",
                f"normal_labels must name labels of the dataset ({', '.join(labels)}); "
                f"unknown: {', '.join(unknown) or 'none given'}",
            )
    service.shapes(spec, data.entries[0]["axes"], len(labels))
    return _launch(
        db=db, impulse=impulse, version=version, data=data, user=user, learn_index=learn_index,
        learn_params=spec.learn[learn_index].params, retrained_from=None,
        normal_labels=normal_labels,
    )  # fmt: skip


def _launch(
    *,
    db: Session,
    impulse: Impulse,
    version: ImpulseVersion,
    data: DatasetVersion,
    user: User,
    learn_index: int,
    learn_params: dict[str, Any],
    retrained_from: int | None,
    normal_labels: list[str] | None = None,
) -> TrainingRun:
    run = TrainingRun(
        project_id=impulse.project_id, impulse_id=impulse.id, impulse_version_id=version.id,
        dataset_version_id=data.id, created_by_id=user.id, retrained_from_id=retrained_from,
        metrics={
            "learn_index": learn_index, "params": learn_params, "normal_labels": normal_labels,
        },
    )  # fmt: skip
    db.add(run)
    db.commit()
    job = jobs.create(
        db=db, project_id=impulse.project_id, kind="impulse.train", user=user,
        params={
            "run_id": run.id, "learn_index": learn_index, "learn_params": learn_params,
            "normal_labels": normal_labels,
        },  # fmt: skip
    )  # fmt: skip
    run.job_id = job.id
    db.commit()
    return run


def retrain(*, db: Session, run: TrainingRun, user: User) -> TrainingRun:
    impulse = db.get(Impulse, run.impulse_id)
    version = db.get(ImpulseVersion, run.impulse_version_id)
    data = db.get(DatasetVersion, run.dataset_version_id)
    assert impulse is not None and version is not None and data is not None
    return _launch(
        db=db, impulse=impulse, version=version, data=data, user=user,
        learn_index=run.metrics.get("learn_index", 0), learn_params=run.metrics.get("params", {}),
        retrained_from=run.id, normal_labels=run.metrics.get("normal_labels"),
    )  # fmt: skip


@dataclass
class FeatureData:
    features: np.ndarray  # (windows, *shape)
    labels: list[str | None]
    sample_ids: np.ndarray
    starts_ms: np.ndarray
    categories: list[str]
    cache_hit: bool


def load_features(
    ctx: JobContext,
    db: Session,
    spec: ImpulseSpec,
    data: DatasetVersion,
    impulse_version_id: int,
    span: tuple[float, float],
) -> FeatureData:
    """The features of every window of a dataset version, from the cache when it has them."""
    store = get_blob_store()
    key = service.feature_cache_key(data.fingerprint, spec.model_dump(mode="json"))
    cached = db.scalar(
        select(FeatureSet).where(
            FeatureSet.project_id == data.project_id, FeatureSet.cache_key == key
        )
    )
    if cached is not None and store.exists(cached.blob_key):
        ctx.log(f"features from cache ({cached.windows} windows)")
        return _unpack(store.get(cached.blob_key), cache_hit=True)
    blocks: list[np.ndarray] = []
    labels: list[str | None] = []
    sample_ids: list[int] = []
    starts: list[np.ndarray] = []
    categories: list[str] = []
    entries = [
        e
        for e in data.entries
        if e["category"] in (Category.training, Category.testing, Category.anomaly)
    ]
    for done, entry in enumerate(entries, start=1):
        values = np.frombuffer(store.get(entry["values_key"]), dtype="<f4").reshape(
            entry["length"], entry["axes"]
        )
        _, window_starts, features = service.features_of(values, entry["interval_ms"], spec)
        if len(features):
            blocks.append(features)
            labels += [entry["label"]] * len(features)
            sample_ids += [entry["sample_id"]] * len(features)
            starts.append(window_starts)
            categories += [entry["category"]] * len(features)
        ctx.progress(
            span[0] + (span[1] - span[0]) * done / len(entries),
            f"features: {done}/{len(entries)} samples",
        )
    if not blocks:
        raise JobFailed("no sample gave a single window: shorten the window or turn on zero_pad")
    result = FeatureData(
        features=np.concatenate(blocks).astype(np.float32),
        labels=labels,
        sample_ids=np.asarray(sample_ids, dtype=np.int64),
        starts_ms=np.concatenate(starts).astype(np.float64),
        categories=categories,
        cache_hit=False,
    )
    blob_key = f"projects/{data.project_id}/features/{key}.npz"
    store.put(blob_key, _pack(result))
    if cached is None:
        try:
            # A savepoint: if another job recorded the same features first (they ran at the
            # same time; both wrote the same blob, the key names the data and the spec), only
            # this insert is undone and theirs is kept.
            with db.begin_nested():
                db.add(
                    FeatureSet(
                        project_id=data.project_id,
                        cache_key=key,
                        dataset_version_id=data.id,
                        impulse_version_id=impulse_version_id,
                        blob_key=blob_key,
                        windows=len(result.features),
                        feature_shape=list(result.features.shape[1:]),
                    )  # fmt: skip
                )
        except IntegrityError:
            pass
        db.commit()
    ctx.log(f"computed features of {len(result.features)} windows")
    return result


def _pack(data: FeatureData) -> bytes:
    out = io.BytesIO()
    np.savez(
        out, features=data.features, sample_ids=data.sample_ids, starts_ms=data.starts_ms,
        labels=np.asarray(json.dumps(data.labels)),
        categories=np.asarray(json.dumps(data.categories)),
    )  # fmt: skip
    return out.getvalue()


def _unpack(raw: bytes, *, cache_hit: bool) -> FeatureData:
    with np.load(io.BytesIO(raw)) as archive:
        return FeatureData(
            features=archive["features"],
            labels=json.loads(str(archive["labels"])),
            sample_ids=archive["sample_ids"],
            starts_ms=archive["starts_ms"],
            categories=json.loads(str(archive["categories"])),
            cache_hit=cache_hit,
        )


def _context(
    db: Session, impulse_version_id: int, dataset_version_id: int
) -> tuple[ImpulseSpec, DatasetVersion]:
    version = db.get(ImpulseVersion, impulse_version_id)
    data = db.get(DatasetVersion, dataset_version_id)
    if version is None or data is None:
        raise JobFailed("the impulse or the dataset version no longer exists")
    return ImpulseSpec.model_validate(version.spec), data


@job_task("impulse.features", queue=QUEUE_LIGHT)
def features_task(ctx: JobContext) -> dict[str, Any]:
    """Features of every window, a 2-D projection of them and per-feature importance."""
    from workers.explore import feature_explorer, feature_importance

    with get_sessionmaker()() as db:
        spec, data = _context(
            db, ctx.params["impulse_version_id"], ctx.params["dataset_version_id"]
        )
        features = load_features(ctx, db, spec, data, ctx.params["impulse_version_id"], (0.0, 0.8))
    flat = features.features.reshape(len(features.features), -1)
    ctx.progress(0.85, "projecting to 2-D")
    coords = feature_explorer(flat, method="pca")
    known = [i for i, label in enumerate(features.labels) if label is not None]
    importance = (
        feature_importance(flat[known], np.asarray([features.labels[i] for i in known])).tolist()
        if len({features.labels[i] for i in known}) > 1
        else []
    )
    explorer = {
        "method": "pca",
        "points": [
            {
                "x": round(float(coords[i, 0]), 5),
                "y": round(float(coords[i, 1]), 5),
                "label": features.labels[i],
                "sample_id": int(features.sample_ids[i]),
                "window_start_ms": float(features.starts_ms[i]),
                "category": features.categories[i],
            }
            for i in range(len(flat))
        ],
        "importance": importance,
    }
    ctx.put_artifact(
        "explorer.json", "feature-explorer", json.dumps(explorer).encode(), "application/json"
    )
    return {
        "windows": len(flat),
        "feature_shape": list(features.features.shape[1:]),
        "cache_hit": features.cache_hit,
        "dataset_version_id": data.id,
        "importance": importance,
    }


def _split_by_sample(
    sample_ids: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training/validation masks that keep each sample's windows together (no leakage)."""
    unique = np.unique(sample_ids)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(unique)
    n_val = int(round(len(unique) * fraction)) if fraction > 0 else 0
    if fraction > 0 and len(unique) > 1:
        n_val = min(max(n_val, 1), len(unique) - 1)
    val_ids = set(shuffled[:n_val].tolist())
    val = np.array([s in val_ids for s in sample_ids.tolist()], dtype=bool)
    return ~val, val


def _targets(kind: str, labels: list[str | None], classes: list[str]) -> np.ndarray:
    if kind == "regression":
        return np.asarray([float(label) for label in labels], dtype=np.float32)  # type: ignore[arg-type]
    index = {label: i for i, label in enumerate(classes)}
    return np.asarray([index.get(label, -1) for label in labels], dtype=np.int64)  # type: ignore[arg-type]


@job_task("impulse.train", queue=QUEUE_TRAINING)
def train_task(ctx: JobContext) -> dict[str, Any]:
    """Features → Keras training (progress per epoch) → int8 → evaluation of float and int8."""
    from workers import learn

    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        if run is None:
            raise JobFailed("the training run no longer exists")
        spec, data = _context(db, run.impulse_version_id, run.dataset_version_id)
        features = load_features(ctx, db, spec, data, run.impulse_version_id, (0.0, 0.15))
    learn_index = ctx.params["learn_index"]
    block_name = spec.learn[learn_index].block
    block = learn.LEARN_BLOCKS[block_name]
    params = block.validate_params(
        ctx.params["learn_params"], tuple(features.features.shape[1:]),
        max(2, len({lbl for lbl in features.labels if lbl is not None})),
    )  # fmt: skip
    x = features.features
    categories = np.asarray(features.categories)
    labels = features.labels
    is_training = categories == Category.training
    is_testing = categories == Category.testing
    if block.kind == "anomaly":
        normal = set(ctx.params.get("normal_labels") or []) or {
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
    fit_mask, val_mask = _split_by_sample(
        features.sample_ids[train_idx],
        float(params.get("validation_split", 0.2)),
        int(params.get("seed", 1)),
    )
    fit_idx, val_idx = train_idx[fit_mask], train_idx[val_mask]
    if block.kind == "anomaly":
        y_all = np.zeros(len(x), dtype=np.int64)
    else:
        y_all = _targets(block.kind, labels, classes)
    if block.kind == "classification":
        # Test windows whose label the model never saw cannot be scored as right or wrong.
        is_testing = is_testing & (y_all >= 0)
    test_idx = np.flatnonzero(is_testing)
    ctx.log(
        f"training {block_name} on {len(fit_idx)} windows, validating on {len(val_idx)}, "
        f"testing on {len(test_idx)}; classes: {classes}"
    )
    epochs: list[dict[str, Any]] = []

    def on_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        metrics = {k: float(v) for k, v in metrics.items() if k != "epoch"}
        epochs.append({"epoch": epoch, **metrics})
        total = max(int(params.get("epochs", 1)), 1)
        ctx.progress(0.15 + 0.6 * min(epoch / total, 1.0), f"epoch {epoch}/{total}", force=True)
        ctx.set_partial_result({"epochs": epochs})
        ctx.log(
            "epoch " + str(epoch) + ": " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        )

    try:
        trained = learn.train(
            block_name, params, x[fit_idx], y_all[fit_idx], x[val_idx], y_all[val_idx],
            n_classes=len(classes), on_epoch=on_epoch, should_stop=ctx.is_cancelled, log=ctx.log,
        )  # fmt: skip
    except learn.TrainingCancelled:
        ctx.check_cancelled()
        raise
    result: dict[str, Any] = {
        "block": block_name, "kind": block.kind, "classes": classes, "epochs": epochs,
        "windows": {"train": len(fit_idx), "validation": len(val_idx), "test": len(test_idx)},
        "feature_shape": list(x.shape[1:]), "params": params,
    }  # fmt: skip
    artifacts: dict[str, int] = {}
    if block.kind == "anomaly":
        result.update(_anomaly_results(learn, trained, x, labels, classes, test_idx, features))
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
        int8 = learn.quantize_int8(trained.keras_model, x[fit_idx], seed=int(params.get("seed", 1)))
        models: tuple[tuple[str, bytes], ...] = (("float32", trained.float_tflite), ("int8", int8))
        ctx.progress(0.85, "evaluating float and int8 models")
        evaluation: dict[str, Any] = {}
        for name, model in models:
            evaluation[name] = {
                split: learn.evaluate(model, x[idx], y_all[idx], kind=block.kind, labels=classes)
                for split, idx in (("validation", val_idx), ("test", test_idx))
                if len(idx)
            }
        result["evaluation"] = {
            name: {split: _summary(metrics) for split, metrics in by_split.items()}
            for name, by_split in evaluation.items()
        }
        result["test_windows"] = _per_window(evaluation, test_idx, features, classes, block.kind)
        result["model_bytes"] = {
            "float32_tflite": len(trained.float_tflite),
            "int8_tflite": len(int8),
        }
        for name, content, kind in (
            ("model.keras", trained.keras_model, "keras-model"),
            ("model-float32.tflite", trained.float_tflite, "tflite-float32"),
            ("model-int8.tflite", int8, "tflite-int8"),
        ):
            artifacts[name] = ctx.put_artifact(name, kind, content)
    artifacts["metrics.json"] = ctx.put_artifact(
        "metrics.json", "metrics", json.dumps(result).encode(), "application/json"
    )
    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        if run is not None:
            run.metrics = {
                "learn_index": learn_index, "params": params, "classes": classes,
                "kind": block.kind, "evaluation": result.get("evaluation"),
                "anomaly": result.get("anomaly"), "epochs": len(epochs),
            }  # fmt: skip
            run.artifacts = artifacts
            db.commit()
    ctx.progress(1.0, "done", force=True)
    return result


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The evaluation without the per-window arrays (kept separately)."""
    return {k: v for k, v in metrics.items() if k != "predictions"}


def _per_window(
    evaluation: dict[str, Any],
    test_idx: np.ndarray,
    features: FeatureData,
    classes: list[str],
    kind: str,
) -> list[dict[str, Any]]:
    test_float = evaluation.get("float32", {}).get("test")
    test_int8 = evaluation.get("int8", {}).get("test")
    if test_float is None or test_int8 is None:
        return []
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
            row.update(
                float32=classes[by_float["predicted"]], int8=classes[by_int8["predicted"]],
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
