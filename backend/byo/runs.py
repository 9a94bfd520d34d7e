"""An uploaded model as an impulse's model: the impulse's windows and DSP feed it, the project's
test set scores it, and the result is a training run of that impulse, so it deploys (C and
Arduino libraries, firmware), is tested on the device and classifies live like a model the
studio trained.

Only classifiers are taken: the model's one output holds a score per label, in the order the
request names (by default the dataset's training labels sorted, the order the studio trains
in)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.byo.models import ModelStatus, UploadedModel
from backend.core.blobs import get_blob_store
from backend.core.db import get_sessionmaker
from backend.core.errors import ApiError, conflict
from backend.datasets import versions
from backend.datasets.models import Category, DatasetVersion
from backend.impulses import service as impulses
from backend.impulses.features import load_features
from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
from backend.impulses.schemas import ImpulseSpec
from backend.impulses.training import evaluation_summary, per_window, run_metrics, targets
from backend.jobs import service as jobs
from backend.jobs.celery_app import QUEUE_TRAINING
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.jobs.models import Artifact


def refuse(field: str, message: str) -> ApiError:
    return ApiError(400, "cannot_use_model", f"{field}: {message}", field=field)


def _impulse_data(
    db: Session, project_id: int, impulse_id: int, user: User, reason: str
) -> tuple[Impulse, ImpulseVersion, ImpulseSpec, DatasetVersion]:
    impulse = impulses.get(db=db, project_id=project_id, impulse_id=impulse_id)
    version = impulses.current_version(db=db, impulse=impulse)
    spec = ImpulseSpec.model_validate(version.spec)
    data = versions.create_version(db=db, project_id=project_id, name=reason, user=user, reuse=True)
    if not any(e["category"] == Category.training for e in data.entries):
        raise refuse("impulse_id", "the project has no enabled training samples to run it on")
    return impulse, version, spec, data


def _features_per_window(spec: ImpulseSpec, data: DatasetVersion) -> list[int]:
    """The shape of one window's features, the learning block's input."""
    shapes = impulses.shapes(spec, data.entries[0]["axes"], 2)
    return [int(n) for n in shapes.learn_input_shape]


def _check_input(model_input: list[int], features: list[int], impulse: Impulse) -> None:
    """The device feeds the DSP's features to the model's input as they are: as many values."""
    wanted, given = math.prod(model_input[1:]), math.prod(features)
    if wanted != given:
        raise refuse(
            "impulse_id",
            f"the model's input {model_input} takes {wanted} values per inference but impulse "
            f"{impulse.name!r} gives {given} features per window (shape {features}): choose an "
            "impulse whose DSP output matches, or change its window or DSP settings",
        )


def calibration(
    *, db: Session, project_id: int, impulse_id: int, user: User, model_input: list[int] | None
) -> dict[str, Any]:
    """What the import job needs to calibrate a float model on the impulse's training windows
    (their feature shape is checked against a .tflite's input here, a Keras file's in the job)."""
    impulse, version, spec, data = _impulse_data(
        db, project_id, impulse_id, user, f"calibration with impulse {impulse_id}"
    )
    if model_input is not None:
        _check_input(model_input, _features_per_window(spec, data), impulse)
    return {
        "impulse_version_id": version.id,
        "dataset_version_id": data.id,
        "impulse_name": impulse.name,
    }


def _labels(data: DatasetVersion, asked: list[str] | None, outputs: int) -> list[str]:
    if asked is None:
        training = [e for e in data.entries if e["category"] == Category.training]
        labels = sorted({e["label"] for e in training if e["label"] is not None})
        if len(labels) != outputs:
            raise refuse(
                "labels",
                f"the model scores {outputs} classes but the training data has {len(labels)} "
                f"labels ({', '.join(labels) or 'none'}): name the model's classes in output "
                "order",
            )
        return labels
    if len(set(asked)) != len(asked) or any(not label.strip() for label in asked):
        raise refuse("labels", "the labels must be distinct and not blank")
    if len(asked) != outputs:
        raise refuse("labels", f"the model scores {outputs} classes; {len(asked)} labels given")
    return asked


def start_run(
    *, db: Session, row: UploadedModel, impulse_id: int, labels: list[str] | None, user: User
) -> TrainingRun:
    """A training run of the impulse with the uploaded int8 model, scored by a job."""
    if row.status != ModelStatus.ready or not row.info:
        raise conflict("model_not_ready", f"model {row.id} is {row.status}: wait for its import")
    info = row.info
    if len(info["inputs"]) != 1 or len(info["outputs"]) != 1:
        raise refuse(
            "model",
            f"the model has {len(info['inputs'])} inputs and {len(info['outputs'])} outputs; an "
            "impulse feeds one input and reads one output of class scores",
        )
    impulse, version, spec, data = _impulse_data(
        db, row.project_id, impulse_id, user, f"model {row.id} in impulse {impulse_id}"
    )
    _check_input(info["inputs"][0]["shape"], _features_per_window(spec, data), impulse)
    outputs = math.prod(info["outputs"][0]["shape"][1:])
    classes = _labels(data, labels, outputs)
    if not any(e["category"] == Category.testing for e in data.entries):
        raise refuse("impulse_id", "the project has no testing samples to score the model on")
    source = {"id": row.id, "name": row.name, "filename": row.filename}
    run = TrainingRun(
        project_id=row.project_id, impulse_id=impulse.id, impulse_version_id=version.id,
        dataset_version_id=data.id, created_by_id=user.id,
        metrics={"learn_index": 0, "params": {}, "uploaded_model": source},
    )  # fmt: skip
    db.add(run)
    db.flush()
    job = jobs.add(
        db=db, project_id=row.project_id, kind="model.evaluate", user=user,
        params={"run_id": run.id, "model_id": row.id, "classes": classes},
    )  # fmt: skip
    run.job_id = job.id
    db.commit()
    jobs.enqueue(db=db, job=job)
    return run


def _models(db: Session, row: UploadedModel) -> dict[str, bytes]:
    """The int8 model, and the float one when the upload was float (kept by its import)."""
    store = get_blob_store()
    int8 = db.get(Artifact, row.int8_artifact_id) if row.int8_artifact_id else None
    if int8 is None:
        raise JobFailed("the model has no int8 model")
    found = {"int8": store.get(int8.blob_key)}
    float_model = db.scalar(
        select(Artifact).where(
            Artifact.job_id == int8.job_id, Artifact.name == "model-float32.tflite"
        )
    )
    if float_model is not None:
        found = {"float32": store.get(float_model.blob_key), **found}
    return found


@job_task("model.evaluate", queue=QUEUE_TRAINING)
def evaluate_task(ctx: JobContext) -> dict[str, Any]:
    """The impulse's features of every window → the uploaded model (float and int8) on the
    training and test windows → the run's metrics and the per-window results that the device
    test compares the device with."""
    from workers import learn

    classes: list[str] = ctx.params["classes"]
    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        row = db.get(UploadedModel, ctx.params["model_id"])
        if run is None or row is None:
            raise JobFailed("the run or the uploaded model no longer exists")
        version = db.get(ImpulseVersion, run.impulse_version_id)
        data = db.get(DatasetVersion, run.dataset_version_id)
        if version is None or data is None:
            raise JobFailed("the impulse or the dataset version no longer exists")
        spec = ImpulseSpec.model_validate(version.spec)
        features = load_features(ctx, db, spec, data, version.id, (0.0, 0.5))
        models = _models(db, row)
    x = features.features
    y = targets("classification", features.labels, classes)
    categories = np.asarray(features.categories)
    # Windows whose label is not one of the model's classes cannot be scored right or wrong.
    splits = {
        "training": np.flatnonzero((categories == Category.training) & (y >= 0)),
        "test": np.flatnonzero((categories == Category.testing) & (y >= 0)),
    }
    ctx.log(
        f"scoring {', '.join(models)} on {len(splits['training'])} training and "
        f"{len(splits['test'])} test windows; classes: {classes}"
    )
    ctx.progress(0.6, "scoring the model on the project's windows")
    evaluation = {
        name: {
            split: learn.evaluate(model, x[idx], y[idx], kind="classification", labels=classes)
            for split, idx in splits.items()
            if len(idx)
        }
        for name, model in models.items()
    }
    result: dict[str, Any] = {
        "block": "uploaded model", "kind": "classification", "classes": classes, "epochs": [],
        "windows": {"train": 0, "validation": 0, "test": len(splits["test"])},
        "feature_shape": list(x.shape[1:]), "params": {}, "warnings": [],
        "evaluation": evaluation_summary(evaluation),
        "test_windows": per_window(evaluation, splits["test"], features, classes, "classification"),
        "uploaded_model": ctx.params["model_id"],
    }  # fmt: skip
    artifacts = {
        f"model-{name}.tflite": ctx.put_artifact(f"model-{name}.tflite", f"tflite-{name}", model)
        for name, model in models.items()
    }
    with get_sessionmaker()() as db:
        run = db.get(TrainingRun, ctx.params["run_id"])
        if run is not None:
            source = run.metrics["uploaded_model"]
            run.metrics = {**run_metrics(0, result), "uploaded_model": source}
            run.artifacts = artifacts
            db.commit()
    ctx.progress(1.0, "done", force=True)
    return result
