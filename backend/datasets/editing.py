"""Versioned edits of one sample: rename, relabel, crop and split, each a compare-and-swap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.accounts.models import User
from backend.core import gc
from backend.core.db import utcnow
from backend.core.errors import bad_request, conflict
from backend.datasets.formats import UploadError, normalize_label
from backend.datasets.models import Category, Sample
from backend.datasets.service import load_values, store_values
from backend.projects import service as projects

T = TypeVar("T")


def _check_version(sample: Sample, expected: int | None) -> None:
    if expected is not None and expected != sample.version:
        raise conflict(
            "sample_changed",
            f"sample {sample.id} was changed by someone else (version {sample.version}, "
            f"you edited version {expected}); reload it and try again",
            current_version=sample.version,
        )


def commit_sample_change(db: Session, change: Callable[[], T], attempts: int = 10) -> T:
    """Runs `change` (which loads the samples it edits) and commits it.

    Every sample UPDATE names the version it read; when another request wrote the row first,
    the change runs again on the fresh row: an edit naming its version then gets a 409, an edit
    naming none is applied last and wins."""
    for _ in range(attempts):
        try:
            result = change()
            db.commit()
            return result
        except StaleDataError:
            db.rollback()
    raise conflict("sample_busy", "the sample kept changing while saving; try again")


def edit(
    *,
    db: Session,
    sample: Sample,
    user: User,
    version: int | None = None,
    name: str | None = None,
    label: str | None = None,
    clear_label: bool = False,
    category: str | None = None,
    enabled: bool | None = None,
    metadata: dict[str, str] | None = None,
) -> Sample:
    """Renames, relabels, moves, enables/disables or re-describes one sample."""
    _check_version(sample, version)
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise bad_request("invalid_name", "the sample name must not be blank", field="name")
        changes["name"] = name.strip()[:255]
    if clear_label:
        changes["label"] = None
    elif label is not None:
        try:
            changes["label"] = normalize_label(label)
        except UploadError as exc:
            raise bad_request("invalid_label", exc.message, field="label") from None
    if category is not None:
        changes["category"] = Category(category).value
    if enabled is not None:
        changes["enabled"] = enabled
    if metadata is not None:
        changes["sample_metadata"] = metadata
    for key, value in changes.items():
        setattr(sample, key, value)
    if changes:
        projects.record(
            db=db, project_id=sample.project_id, action="sample.edited", user=user,
            sample_id=sample.id, fields=sorted(changes),
        )  # fmt: skip
    return sample


def _row_range(sample: Sample, start_ms: float, end_ms: float) -> tuple[int, int]:
    if not (0 <= start_ms < end_ms):
        raise bad_request(
            "invalid_range", "start_ms must be >= 0 and below end_ms", field="start_ms"
        )
    start = int(round(start_ms / sample.interval_ms))
    end = min(int(round(end_ms / sample.interval_ms)), sample.length)
    if end - start < 1:
        raise bad_request(
            "invalid_range",
            f"the range {start_ms}-{end_ms} ms holds no values of this "
            f"{sample.duration_ms:g} ms sample",
            field="end_ms",
        )
    return start, end


def _values_to_edit(db: Session, sample: Sample) -> np.ndarray:
    try:
        return load_values(sample)
    except FileNotFoundError:
        current = db.scalar(select(Sample.version).where(Sample.id == sample.id))
        if current == sample.version:
            raise
        # An edit committed since the row was read replaced these values and dropped them.
        raise StaleDataError(f"sample {sample.id} changed while it was edited") from None


def crop(
    *, db: Session, sample: Sample, user: User, start_ms: float, end_ms: float, version: int | None
) -> Sample:
    """Keeps only [start_ms, end_ms) of a sample's values (the original upload is kept)."""
    _check_version(sample, version)
    start, end = _row_range(sample, start_ms, end_ms)
    values = _values_to_edit(db, sample)[start:end]
    gc.released(db, sample.values_key)
    sample.values_key, sample.values_sha256 = store_values(sample.project_id, values, db=db)
    sample.length = int(values.shape[0])
    projects.record(
        db=db, project_id=sample.project_id, action="sample.cropped", user=user,
        sample_id=sample.id, start_ms=start_ms, end_ms=end_ms,
    )  # fmt: skip
    return sample


def split(
    *, db: Session, sample: Sample, user: User, window_ms: float, stride_ms: float | None
) -> list[Sample]:
    """Cuts a sample into windows, each a new sample; the original goes to the trash."""
    stride_ms = stride_ms or window_ms
    if window_ms <= 0 or stride_ms <= 0:
        raise bad_request("invalid_window", "window_ms and stride_ms must be positive")
    window = int(round(window_ms / sample.interval_ms))
    stride = int(round(stride_ms / sample.interval_ms))
    if window < 1 or window > sample.length:
        raise bad_request(
            "invalid_window",
            f"a {window_ms:g} ms window does not fit this {sample.duration_ms:g} ms sample",
            field="window_ms",
        )
    values = _values_to_edit(db, sample)
    parts = []
    for number, start in enumerate(range(0, sample.length - window + 1, stride), start=1):
        key, digest = store_values(sample.project_id, values[start : start + window], db=db)
        part = Sample(
            **{
                column: getattr(sample, column)
                for column in (
                    "project_id",
                    "label",
                    "category",
                    "sensors",
                    "interval_ms",
                    "axes",
                    "original_key",
                    "original_name",
                    "original_format",
                    "sha256",
                    "size_bytes",
                    "device_name",
                    "device_type",
                    "enabled",
                    "signature_verified",
                )
            },  # fmt: skip
            name=f"{sample.name}.s{number}",
            length=window,
            values_key=key,
            values_sha256=digest,
            sample_metadata={**(sample.sample_metadata or {}), "split_from": str(sample.id)},
            created_by_id=user.id,
        )
        db.add(part)
        parts.append(part)
    sample.deleted_at = utcnow()
    db.flush()
    projects.record(
        db=db, project_id=sample.project_id, action="sample.split", user=user,
        sample_id=sample.id, parts=len(parts),
    )  # fmt: skip
    return parts
