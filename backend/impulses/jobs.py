"""Feature generation and training jobs: starting them, and the tasks, thin wrappers around
backend/impulses/features.py, training.py and the pipeline in `workers/`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.db import get_sessionmaker
from backend.core.errors import ApiError
from backend.datasets import versions
from backend.datasets.models import Category, DatasetVersion
from backend.impulses import optimization as optimized
from backend.impulses import service
from backend.impulses.features import load_features
from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
from backend.impulses.schemas import ImpulseSpec, OptimizationIn
from backend.impulses.training import compare_on_device, train_and_evaluate
from backend.jobs import service as jobs
from backend.jobs.celery_app import QUEUE_LIGHT, QUEUE_TRAINING
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.jobs.models import Job


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
    # Unchanged data keeps its version, so runs on the same data say so and share features.
    return versions.create_version(db=db, project_id=project_id, name=reason, user=user, reuse=True)


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
    optimization: OptimizationIn | None = None,
) -> TrainingRun:
    version = service.current_version(db=db, impulse=impulse)
    spec = ImpulseSpec.model_validate(version.spec)
    if params is not None and learn_index < len(spec.learn):
        _check_settings(spec.learn[learn_index].block, params)
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
    asked = optimization or OptimizationIn()
    links = optimized.links(
        db=db, impulse_id=impulse.id, learn_index=learn_index,
        params=spec.learn[learn_index].params,
        features=optimized.features_key(version.spec) or {},
        classes=sorted({e["label"] for e in data.entries
                        if e["category"] == Category.training and e["label"] is not None}),
        baseline_run_id=asked.baseline_run_id, teacher_run_id=asked.teacher_run_id,
        board_id=asked.board_id,
    )  # fmt: skip
    return _launch(
        db=db, impulse=impulse, version=version, data=data, user=user, learn_index=learn_index,
        learn_params=spec.learn[learn_index].params, retrained_from=None,
        normal_labels=normal_labels, links=None if links is None else links.as_metrics(),
    )  # fmt: skip


def _check_settings(block_name: str, params: dict[str, Any]) -> None:
    """The run's own settings are part of the request: a bad one is a 422 naming it."""
    from workers import learn

    block = learn.LEARN_BLOCKS.get(block_name)
    if block is None:
        return  # the impulse's own check names the unknown block
    try:
        block.settings(params)
    except learn.LearnParamError as exc:
        raise optimized.invalid(f"params.{exc.field}", exc.message) from None


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
    links: dict[str, Any] | None = None,
) -> TrainingRun:
    run = TrainingRun(
        project_id=impulse.project_id, impulse_id=impulse.id, impulse_version_id=version.id,
        dataset_version_id=data.id, created_by_id=user.id, retrained_from_id=retrained_from,
        metrics={
            "learn_index": learn_index, "params": learn_params, "normal_labels": normal_labels,
            **({"links": links} if links else {}),
        },
    )  # fmt: skip
    db.add(run)
    db.commit()
    job = jobs.create(
        db=db, project_id=impulse.project_id, kind="impulse.train", user=user,
        params={
            "run_id": run.id, "learn_index": learn_index, "learn_params": learn_params,
            "normal_labels": normal_labels, "links": links,
        },  # fmt: skip
    )  # fmt: skip
    run.job_id = job.id
    db.commit()
    return run


def retrain(*, db: Session, run: TrainingRun, user: User) -> TrainingRun:
    uploaded = (run.metrics or {}).get("uploaded_model")
    if uploaded:
        raise refuse(
            "run_id",
            f"this run scores the uploaded model {uploaded['name']!r}, which was trained "
            "elsewhere: run it in the impulse again from the Models page instead",
        )
    impulse = db.get(Impulse, run.impulse_id)
    version = db.get(ImpulseVersion, run.impulse_version_id)
    data = db.get(DatasetVersion, run.dataset_version_id)
    assert impulse is not None and version is not None and data is not None
    return _launch(
        db=db, impulse=impulse, version=version, data=data, user=user,
        learn_index=run.metrics.get("learn_index", 0), learn_params=run.metrics.get("params", {}),
        retrained_from=run.id, normal_labels=run.metrics.get("normal_labels"),
        links=run.metrics.get("links"),
    )  # fmt: skip


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


@job_task("impulse.train", queue=QUEUE_TRAINING)
def train_task(ctx: JobContext) -> dict[str, Any]:
    """Features → Keras training (progress per epoch) → int8 → evaluation of float and int8."""
    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        if run is None:
            raise JobFailed("the training run no longer exists")
        spec, data = _context(db, run.impulse_version_id, run.dataset_version_id)
        features = load_features(ctx, db, spec, data, run.impulse_version_id, (0.0, 0.15))
        links = ctx.params.get("links") or {}
        baseline = optimized.artifact_bytes(db, links.get("baseline_run_id"), "model.keras")
        teacher = optimized.artifact_bytes(db, links.get("teacher_run_id"), "model.keras")
    learn_index = ctx.params["learn_index"]
    outcome = train_and_evaluate(
        ctx, features=features, block_name=spec.learn[learn_index].block,
        learn_params=ctx.params["learn_params"], learn_index=learn_index,
        normal_labels=ctx.params.get("normal_labels"), baseline_model=baseline,
        teacher_model=teacher,
    )  # fmt: skip
    if links:
        compare_on_device(ctx, outcome, spec, data.entries[0]["axes"], links)
    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        if run is not None:
            run.metrics = {**outcome.metrics, **({"links": links} if links else {})}
            run.artifacts = outcome.artifacts
            db.commit()
    ctx.progress(1.0, "done", force=True)
    return outcome.result
