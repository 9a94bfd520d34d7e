"""Uploaded models: the upload checked and stored (nothing half-stored), the jobs that import,
profile and package it, and the answer the routes give."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import PurePath
from typing import Any, BinaryIO

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.byo import runs
from backend.byo.models import ModelStatus, UploadedModel
from backend.byo.schemas import UploadedModelOut
from backend.core import gc
from backend.core.blobs import get_blob_store
from backend.core.db import lock_row
from backend.core.errors import ApiError, conflict, not_found
from backend.jobs import service as jobs
from backend.jobs.models import Job, JobStatus
from backend.projects import service as projects

# Largest model file taken (a TinyML model is kilobytes to a few megabytes).
MAX_MODEL_BYTES = 64 * 1024 * 1024
# Largest representative .npy taken.
MAX_REPRESENTATIVE_BYTES = 256 * 1024 * 1024
FORMATS = {".tflite": "tflite", ".keras": "keras", ".h5": "h5", ".zip": "savedmodel"}
# A SavedModel zip unpacks to at most this much (weights of a TinyML model are far less).
MAX_SAVED_MODEL_BYTES = 512 * 1024 * 1024
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_model_upload", f"{field}: {message}", field=field)


def _read_capped(stream: BinaryIO, cap: int, field: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ApiError(
            413, "upload_too_large", f"{field}: larger than {cap // (1024 * 1024)} MB", field=field
        )
    if not data:
        raise invalid(field, "the file is empty")
    return data


def _format(filename: str, data: bytes) -> str:
    """The source format of the upload, checked against its first bytes."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".onnx":
        raise invalid(
            "file", "ONNX models are not read yet: convert it with onnx2tf to a .tflite first"
        )
    if suffix == ".pb":
        raise invalid(
            "file",
            "a SavedModel is a folder, not its saved_model.pb alone: zip the whole folder "
            "(saved_model.pb with variables/) and upload the .zip",
        )
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise invalid(
            "file",
            f"{filename!r} is not a model TinyStudio reads: upload a .tflite (int8 or float), "
            "a Keras .keras or .h5 file, or a SavedModel folder zipped",
        )
    if fmt == "keras" and not zipfile.is_zipfile(io.BytesIO(data)):
        raise invalid("file", f"{filename!r} is not a Keras .keras file (not a zip archive)")
    if fmt == "h5" and not data.startswith(_HDF5_MAGIC):
        raise invalid("file", f"{filename!r} is not an HDF5 (.h5) file")
    if fmt == "savedmodel":
        _saved_model_zip(filename, data)
    return fmt


def _saved_model_zip(filename: str, data: bytes) -> None:
    """Refuses a zip that is not one SavedModel, or that would unpack outside its folder or to
    more than the cap (the worker unpacks it)."""
    from workers.byo.saved_model import SavedModelError, check_zip

    try:
        check_zip(data, MAX_SAVED_MODEL_BYTES)
    except SavedModelError as exc:
        raise invalid("file", f"{filename!r}: {exc}") from None


def _tflite_is_float(data: bytes, filename: str) -> bool:
    """Whether a .tflite upload is float; refuses a file that is no model, naming the fault."""
    from workers.byo.describe import is_float
    from workers.compiler.tflite_reader import TfliteFormatError, read_model

    try:
        return is_float(read_model(data))
    except TfliteFormatError as exc:
        raise invalid("file", f"{filename!r} is not a readable .tflite model: {exc}") from None


def _tflite_input_shape(data: bytes) -> list[int] | None:
    """The first input's shape of a readable .tflite (checked against an impulse's features)."""
    from workers.compiler.tflite_reader import read_model

    model = read_model(data)
    return list(model.tensors[model.inputs[0]].shape) if len(model.inputs) == 1 else None


def _representative(data: bytes) -> None:
    """Refuses a representative file that is not a numeric .npy array."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise invalid("representative", f"not a .npy array: {exc}") from None
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise invalid("representative", "the .npy array must hold numbers")
    if array.ndim < 1 or array.shape[0] < 1:
        raise invalid("representative", "the .npy array holds no inputs (shape [n, ...])")


def _put(db: Session, key: str, data: bytes) -> str:
    get_blob_store().put(key, data)
    gc.written(db, key)
    return key


def upload(
    *,
    db: Session,
    project_id: int,
    user: User,
    filename: str,
    stream: BinaryIO,
    name: str | None,
    representative: tuple[str, BinaryIO] | None,
    impulse_id: int | None = None,
) -> UploadedModel:
    """Checks and stores an uploaded model (and its representative inputs), then starts its
    import job. A float model needs inputs to be quantized with: a .npy of them, or an impulse
    whose features of the project's training samples stand for them."""
    data = _read_capped(stream, MAX_MODEL_BYTES, "file")
    fmt = _format(filename, data)
    needs_inputs = fmt != "tflite" or _tflite_is_float(data, filename)
    inputs = None
    if representative is not None:
        inputs = _read_capped(representative[1], MAX_REPRESENTATIVE_BYTES, "representative")
        _representative(inputs)
    if representative is not None and impulse_id is not None:
        raise invalid("impulse_id", "give representative inputs or an impulse, not both")
    if needs_inputs and inputs is None and impulse_id is None:
        raise invalid(
            "representative",
            "a float model is quantized to int8 with inputs like the ones it will see: upload "
            "them as a .npy array shaped [n, ...input shape] (at least a few dozen), or name "
            "an impulse whose features of the training samples the model takes",
        )
    calibration = None
    if needs_inputs and impulse_id is not None:
        calibration = runs.calibration(
            db=db, project_id=project_id, impulse_id=impulse_id, user=user,
            model_input=_tflite_input_shape(data) if fmt == "tflite" else None,
        )  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    folder = f"projects/{project_id}/models/{digest}"
    row = UploadedModel(
        project_id=project_id, name=(name or "").strip() or PurePath(filename).stem,
        filename=filename, source_format=fmt, original_bytes=len(data),
        original_key=_put(db, f"{folder}/original{PurePath(filename).suffix.lower()}", data),
        representative_key=(
            _put(db, f"{folder}/representative-{hashlib.sha256(inputs).hexdigest()}.npy", inputs)
            if inputs is not None and needs_inputs
            else None
        ),
        status=ModelStatus.importing, created_by_id=user.id,
    )  # fmt: skip
    db.add(row)
    db.flush()
    job = jobs.add(
        db=db, project_id=project_id, kind="model.import", user=user,
        params={"model_id": row.id, **({"calibration": calibration} if calibration else {})},
    )  # fmt: skip
    row.import_job_id = job.id
    projects.record(
        db=db, project_id=project_id, action="model.uploaded", user=user, model_id=row.id,
        filename=filename,
    )  # fmt: skip
    db.commit()
    jobs.enqueue(db=db, job=job)
    return row


def get(*, db: Session, project_id: int, model_id: int) -> UploadedModel:
    row = db.get(UploadedModel, model_id)
    if row is None or row.project_id != project_id:
        raise not_found("model")
    return row


def list_models(*, db: Session, project_id: int) -> list[UploadedModel]:
    return list(
        db.scalars(
            select(UploadedModel)
            .where(UploadedModel.project_id == project_id)
            .order_by(UploadedModel.id.desc())
        )
    )


def _job_status(db: Session, job_id: int | None) -> tuple[str | None, str | None]:
    job = db.get(Job, job_id) if job_id is not None else None
    return (job.status, job.error) if job is not None else (None, None)


def status(db: Session, row: UploadedModel) -> tuple[str, str | None]:
    """The model's status and error: an import whose job ended badly (a killed worker) is
    failed, whatever the row last said."""
    if row.status != ModelStatus.importing:
        return row.status, row.error
    job_status, job_error = _job_status(db, row.import_job_id)
    if job_status in (JobStatus.failed, JobStatus.cancelled):
        return ModelStatus.failed, job_error or f"the import job was {job_status}"
    return row.status, row.error


def start_job(*, db: Session, row: UploadedModel, kind: str, user: User) -> Job:
    """Starts the profile ("model.profile") or C library ("model.library") job of a ready
    model that the compiler takes; 409 otherwise, or while the same job still runs."""
    # Two requests at once: the second waits here and then sees the first one's job.
    lock_row(db, UploadedModel, row.id)
    db.refresh(row)
    current, _ = status(db, row)
    if current != ModelStatus.ready:
        raise conflict("model_not_ready", f"model {row.id} is {current}: wait for its import")
    compiler = (row.info or {}).get("compiler") or {}
    if not compiler.get("supported"):
        raise conflict(
            "model_not_supported",
            f"the compiler does not take this model: {compiler.get('reason') or 'unknown'}",
        )
    column = "profile_job_id" if kind == "model.profile" else "library_job_id"
    running, _ = _job_status(db, getattr(row, column))
    if running in (JobStatus.queued, JobStatus.running):
        raise conflict("job_running", f"a {kind} job of model {row.id} is still {running}")
    job = jobs.add(
        db=db, project_id=row.project_id, kind=kind, params={"model_id": row.id}, user=user
    )
    setattr(row, column, job.id)
    db.commit()
    jobs.enqueue(db=db, job=job)
    return job


def delete(*, db: Session, row: UploadedModel, user: User) -> None:
    """Deletes the model row; its original and representative files go with it (its jobs'
    artifacts go with the jobs)."""
    lock_row(db, UploadedModel, row.id)
    if db.scalar(select(UploadedModel.id).where(UploadedModel.id == row.id)) is None:
        raise not_found("model")  # deleted meanwhile by another request
    for key in (row.original_key, row.representative_key):
        if key is not None:
            gc.released(db, key)
    projects.record(
        db=db, project_id=row.project_id, action="model.deleted", user=user, model_id=row.id
    )
    db.delete(row)
    db.commit()


def out(db: Session, row: UploadedModel) -> UploadedModelOut:
    current, error = status(db, row)
    profile_status, _ = _job_status(db, row.profile_job_id)
    library_status, _ = _job_status(db, row.library_job_id)
    info: dict[str, Any] | None = row.info or None
    return UploadedModelOut.model_validate(
        {
            "id": row.id, "name": row.name, "filename": row.filename,
            "source_format": row.source_format, "original_bytes": row.original_bytes,
            "status": current, "error": error, "import_job_id": row.import_job_id,
            "profile_job_id": row.profile_job_id, "profile_status": profile_status,
            "library_job_id": row.library_job_id, "library_status": library_status,
            "int8_artifact_id": row.int8_artifact_id,
            "library_artifact_id": row.library_artifact_id, "info": info,
            "quantization": row.quantization, "profile": row.profile,
            "created_at": row.created_at,
        }
    )  # fmt: skip
