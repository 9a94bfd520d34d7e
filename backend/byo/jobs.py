"""The uploaded-model jobs: import (quantize a float model with TensorFlow, describe the int8
one), profile on every board, and the C library. Thin wrappers around workers/byo."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from backend.byo.models import ModelStatus, UploadedModel
from backend.core.blobs import get_blob_store
from backend.core.db import get_sessionmaker
from backend.jobs.celery_app import QUEUE_BUILD, QUEUE_TRAINING
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.jobs.models import Artifact


def _row(model_id: int) -> UploadedModel:
    with get_sessionmaker()() as db:
        row = db.get(UploadedModel, model_id)
        if row is None:
            raise JobFailed("the model was deleted")
        db.expunge(row)
        return row


def _update(model_id: int, **values: Any) -> None:
    with get_sessionmaker()() as db:
        row = db.get(UploadedModel, model_id)
        if row is None:
            raise JobFailed("the model was deleted")
        for name, value in values.items():
            setattr(row, name, value)
        db.commit()


@contextmanager
def _import_fails_the_model(model_id: int) -> Iterator[None]:
    """A refusal marks the model failed with the reason, in words, and fails the job."""
    from workers.byo.quantize import QuantizeError
    from workers.compiler.tflite_reader import TfliteFormatError

    try:
        yield
    except (QuantizeError, TfliteFormatError) as exc:
        _update(model_id, status=ModelStatus.failed, error=str(exc))
        raise JobFailed(str(exc)) from None
    except JobFailed as exc:
        _update(model_id, status=ModelStatus.failed, error=str(exc))
        raise


def _impulse_inputs(ctx: JobContext, calibration: dict[str, Any]) -> np.ndarray:
    """The training windows of the project's data through the impulse's DSP: the inputs the
    model will see on the device, to calibrate it with."""
    from backend.datasets.models import Category, DatasetVersion
    from backend.impulses.features import load_features
    from backend.impulses.models import ImpulseVersion
    from backend.impulses.schemas import ImpulseSpec

    with get_sessionmaker()() as db:
        version = db.get(ImpulseVersion, calibration["impulse_version_id"])
        data = db.get(DatasetVersion, calibration["dataset_version_id"])
        if version is None or data is None:
            raise JobFailed("the impulse or dataset version to calibrate with no longer exists")
        spec = ImpulseSpec.model_validate(version.spec)
        features = load_features(ctx, db, spec, data, version.id, (0.05, 0.4))
    training = np.asarray(features.categories) == Category.training
    if not training.any():
        raise JobFailed("the dataset has no training windows to calibrate with")
    return features.features[training]


def _int8_model(
    ctx: JobContext, row: UploadedModel
) -> tuple[bytes, bytes | None, dict[str, Any] | None]:
    """The int8 model, the float one it was quantized from and the quantization report (both
    None when the upload was int8 already)."""
    from workers.byo.describe import is_float
    from workers.byo.quantize import quantize
    from workers.compiler.tflite_reader import read_model

    store = get_blob_store()
    original = store.get(row.original_key)
    if row.source_format == "tflite" and not is_float(read_model(original)):
        ctx.log("the model is int8 already")
        return original, None, None
    calibration = ctx.params.get("calibration")
    if row.representative_key is not None:
        inputs = np.load(io.BytesIO(store.get(row.representative_key)), allow_pickle=False)
        source = "the uploaded .npy inputs"
    elif calibration:
        inputs = _impulse_inputs(ctx, calibration)
        source = (
            f"{len(inputs)} training windows through impulse {calibration['impulse_name']!r} "
            f"(dataset version {calibration['dataset_version_id']})"
        )
    else:
        raise JobFailed("a float model needs representative inputs to be quantized with")
    ctx.progress(0.5, f"quantizing the float model to int8 with {len(inputs)} inputs")
    int8, float_model, report = quantize(original, row.source_format, inputs)
    return int8, float_model, {**report, "calibration_source": source}


@job_task("model.import", queue=QUEUE_TRAINING)
def import_model(ctx: JobContext) -> dict[str, Any]:
    """Quantizes a float model to int8 (TensorFlow, in this task only) and describes it."""
    from workers.byo.describe import describe

    model_id = int(ctx.params["model_id"])
    row = _row(model_id)
    with _import_fails_the_model(model_id):
        int8, float_model, quantization = _int8_model(ctx, row)
        ctx.progress(0.8, "reading the int8 model")
        info = describe(int8)
        if info["float"]:
            raise JobFailed("the int8 conversion still computes in float; it cannot run here")
    artifact_id = ctx.put_artifact("model-int8.tflite", "model", int8)
    if float_model is not None:
        # Kept so that a run of the model in an impulse scores float32 beside int8.
        ctx.put_artifact("model-float32.tflite", "tflite-float32", float_model)
    _update(
        model_id, status=ModelStatus.ready, error=None, info=info, quantization=quantization,
        int8_artifact_id=artifact_id,
    )  # fmt: skip
    supported = info["compiler"]["supported"]
    ctx.log(
        f"{len(info['operators'])} operators, {info['parameters']:,} parameters; "
        + ("the compiler takes it" if supported else f"refused: {info['compiler']['reason']}")
    )
    return {"model_id": model_id, "compiler_supported": supported}


def _int8_bytes(row: UploadedModel) -> bytes:
    with get_sessionmaker()() as db:
        artifact = db.get(Artifact, row.int8_artifact_id) if row.int8_artifact_id else None
        if artifact is None:
            raise JobFailed("the model has no int8 model yet")
        return get_blob_store().get(artifact.blob_key)


@job_task("model.profile", queue=QUEUE_BUILD)
def profile_model(ctx: JobContext) -> dict[str, Any]:
    """Builds and runs the model on the virtual board of every core in the catalog."""
    from workers.byo.profile import ProfileError, profile_model

    model_id = int(ctx.params["model_id"])
    tflite = _int8_bytes(_row(model_id))
    with tempfile.TemporaryDirectory(prefix="tinystudio-profile-") as tmp:
        try:
            found = profile_model(tflite, Path(tmp), progress=lambda f, m: ctx.progress(f, m))
        except ProfileError as exc:
            raise JobFailed(str(exc)) from None
    measured = sum(1 for row in found["boards"] if row["measured"])
    _update(model_id, profile={"job_id": ctx.job_id, "boards": found["boards"]})
    ctx.log(f"measured on {', '.join(found['measured_on'])}; {measured} boards profiled")
    return {"model_id": model_id, "boards": len(found["boards"]), "measured": measured}


_LIBRARY_README = """# {name}: C library compiled by TinyStudio

`ts_model.h` declares the model's API and sizes; `ts_model.c` holds its weights and the
calls into the int8 kernels (`ts_kernels*.c/.h`). Plain C99 with no dependencies and no heap:
the arena is a static array of {arena:,} bytes. Build every `.c` file with your firmware (on
Cortex-M4/M7/M33 the DSP-extension paths are used automatically).
"""


@job_task("model.library", queue=QUEUE_BUILD)
def build_library(ctx: JobContext) -> dict[str, Any]:
    """Compiles the model to C and zips the sources with a README."""
    from workers.compiler import compile_model

    model_id = int(ctx.params["model_id"])
    row = _row(model_id)
    tflite = _int8_bytes(row)
    with tempfile.TemporaryDirectory(prefix="tinystudio-library-") as tmp:
        out = Path(tmp)
        report = compile_model(tflite, out / "src")
        zip_path = out / "library.zip"
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted((out / "src").iterdir()):
                archive.write(path, f"{row.name}/{path.name}")
            archive.writestr(
                f"{row.name}/README.md",
                _LIBRARY_README.format(name=row.name, arena=report.arena_bytes),
            )
        artifact_id = ctx.put_artifact(
            f"{row.name}-c-library.zip", "c-library", zip_path, "application/zip"
        )
    _update(model_id, library_artifact_id=artifact_id)
    return {"model_id": model_id, "files": report.files, "arena_bytes": report.arena_bytes}
