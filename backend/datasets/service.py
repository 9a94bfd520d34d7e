"""Dataset operations: store parsed uploads, list and summarise, edit, crop and split, trash,
rebalance, duplicates, plotting values and dataset versions."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

import numpy as np
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.blobs import get_blob_store
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import ApiError, bad_request, conflict, not_found
from backend.datasets.formats import ParsedSample, UploadError, UploadLimits, normalize_label
from backend.datasets.models import Category, DatasetVersion, Sample
from backend.projects import service as projects
from backend.projects.models import ApiKey, Project

TRASH_DAYS = 30
TRAINING_SHARE = 0.8
SPLIT = "split"
ORIGINAL_EXTENSIONS = {"json": ".json", "cbor": ".cbor", "csv": ".csv", "wav": ".wav"}


def upload_limits() -> UploadLimits:
    """The upload limits from the settings."""
    settings = get_settings()
    return UploadLimits(max_file_bytes=settings.max_upload_bytes, max_axes=settings.max_axes)


def split_category(sha256: str) -> Category:
    """The category an automatic split gives: 80/20, stable by content hash."""
    return Category.training if int(sha256[:8], 16) % 100 < 80 else Category.testing


def _values_key(project_id: int, digest: str) -> str:
    return f"projects/{project_id}/values/{digest}.f32"


def store_values(project_id: int, values: np.ndarray) -> tuple[str, str]:
    """Keeps a (time x axes) float32 array as a content-addressed blob; returns (key, sha256)."""
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    digest = hashlib.sha256(data).hexdigest()
    key = _values_key(project_id, digest)
    store = get_blob_store()
    if not store.exists(key):
        store.put(key, data)
    return key, digest


def load_values(sample: Sample) -> np.ndarray:
    """The sample's values as a (length x axes) float32 array."""
    data = get_blob_store().get(sample.values_key)
    return np.frombuffer(data, dtype="<f4").reshape(sample.length, sample.axes)


def _store_original(
    project_id: int, parsed: ParsedSample, source: BinaryIO | None, fmt: str
) -> str:
    key = f"projects/{project_id}/originals/{parsed.sha256}{ORIGINAL_EXTENSIONS.get(fmt, '')}"
    store = get_blob_store()
    if store.exists(key):
        return key
    if parsed.original_bytes is not None:
        store.put(key, parsed.original_bytes)
    else:
        assert source is not None, "a streamed upload must be stored from its stream"
        source.seek(0)
        store.put(key, iter(lambda: source.read(1 << 20), b""))
    return key


def find_duplicate(*, db: Session, project_id: int, sha256: str) -> Sample | None:
    return db.scalar(
        select(Sample).where(
            Sample.project_id == project_id, Sample.sha256 == sha256, Sample.deleted_at.is_(None)
        )
    )


@dataclass
class UploadOptions:
    """How to file an upload: label, category, naming and duplicate handling."""

    label: str | None = None
    no_label: bool = False
    category: str = SPLIT
    name: str | None = None
    add_date_id: bool = False
    disallow_duplicates: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


def _sample_name(filename: str, options: UploadOptions) -> str:
    base = (options.name or filename).replace("\\", "/").rsplit("/", 1)[-1]
    for extension in (".json", ".cbor", ".csv", ".wav", ".wave"):
        if base.lower().endswith(extension):
            base = base[: -len(extension)]
            break
    base = base.strip() or "sample"
    if options.add_date_id:
        base = f"{base}.{utcnow().strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
    return base[:255]


def store_parsed(
    *,
    db: Session,
    project: Project,
    filename: str,
    parsed: ParsedSample,
    options: UploadOptions,
    source: BinaryIO | None = None,
    user: User | None = None,
    api_key: ApiKey | None = None,
    enabled: bool = True,
    flush: bool = True,
) -> Sample:
    """Stores one parsed upload: blobs first (atomically), then the row. Raises UploadError.

    With `flush=False` the row waits in the session until commit, so a long import holds no
    database write lock (SQLite has one writer) while it reads the rest of its files."""
    if options.no_label:
        label = None
    elif options.label is not None:
        label = normalize_label(options.label, filename=filename)
    else:
        label = parsed.label_from_name
    if options.disallow_duplicates:
        duplicate = find_duplicate(db=db, project_id=project.id, sha256=parsed.sha256)
        if duplicate is not None:
            raise UploadError(
                filename,
                f"the same file is already stored as sample {duplicate.id} ({duplicate.name})",
                http_status=409,
            )
    category = split_category(parsed.sha256) if options.category == SPLIT else options.category
    if category not in Category.__members__:
        raise UploadError(filename, f"unknown category {category!r}", field="category")
    values_key, values_sha = store_values(project.id, parsed.values)
    original_key = _store_original(project.id, parsed, source, parsed.format)
    sample = Sample(
        project_id=project.id,
        name=_sample_name(filename, options),
        label=label,
        category=category,
        sensors=[{"name": n, "units": u} for n, u in parsed.sensors],
        interval_ms=parsed.interval_ms,
        length=int(parsed.values.shape[0]),
        axes=int(parsed.values.shape[1]),
        values_key=values_key,
        values_sha256=values_sha,
        original_key=original_key,
        original_name=filename[:255],
        original_format=parsed.format,
        sha256=parsed.sha256,
        size_bytes=parsed.size_bytes,
        device_name=parsed.device_name,
        device_type=parsed.device_type,
        sample_metadata={**parsed.metadata, **options.metadata},
        enabled=enabled,
        signature_verified=parsed.signature_verified,
        created_by_id=user.id if user else None,
        created_by_api_key_id=api_key.id if api_key else None,
    )
    db.add(sample)
    if flush:
        db.flush()
    return sample


def get(*, db: Session, project_id: int, sample_id: int, include_deleted: bool = False) -> Sample:
    """Gets a sample of a project by its id."""
    sample = db.get(Sample, sample_id)
    if sample is None or sample.project_id != project_id:
        raise not_found("sample")
    if sample.deleted_at is not None and not include_deleted:
        raise not_found("sample")
    return sample


@dataclass
class SampleFilter:
    label: str | None = None
    category: str | None = None
    enabled: bool | None = None
    search: str | None = None
    device: str | None = None
    trashed: bool = False
    unlabelled: bool = False


def query(*, project_id: int, where: SampleFilter):  # type: ignore[no-untyped-def]
    statement = select(Sample).where(Sample.project_id == project_id)
    statement = statement.where(
        Sample.deleted_at.is_not(None) if where.trashed else Sample.deleted_at.is_(None)
    )
    if where.label is not None:
        statement = statement.where(Sample.label == where.label)
    if where.unlabelled:
        statement = statement.where(Sample.label.is_(None))
    if where.category is not None:
        statement = statement.where(Sample.category == where.category)
    if where.enabled is not None:
        statement = statement.where(Sample.enabled.is_(where.enabled))
    if where.search:
        pattern = f"%{where.search.lower()}%"
        statement = statement.where(func.lower(Sample.name).like(pattern))
    if where.device:
        statement = statement.where(
            or_(Sample.device_name == where.device, Sample.device_type == where.device)
        )
    return statement


def summary(*, db: Session, project_id: int) -> dict[str, Any]:
    """Label counts and total duration per category (enabled, not trashed)."""
    rows = db.execute(
        select(
            Sample.category,
            Sample.label,
            func.count(),
            func.sum(Sample.length * Sample.interval_ms),
        )
        .where(
            Sample.project_id == project_id,
            Sample.deleted_at.is_(None),
            Sample.enabled.is_(True),
        )
        .group_by(Sample.category, Sample.label)
    )
    categories: dict[str, dict[str, Any]] = {
        c.value: {"count": 0, "duration_ms": 0.0, "labels": {}} for c in Category
    }
    for category, label, count, duration in rows:
        entry = categories.setdefault(category, {"count": 0, "duration_ms": 0.0, "labels": {}})
        entry["count"] += count
        entry["duration_ms"] += float(duration or 0.0)
        entry["labels"][label if label is not None else ""] = {
            "count": count,
            "duration_ms": float(duration or 0.0),
        }
    disabled = db.scalar(
        select(func.count()).where(
            Sample.project_id == project_id,
            Sample.deleted_at.is_(None),
            Sample.enabled.is_(False),
        )
    )
    trashed = db.scalar(
        select(func.count()).where(Sample.project_id == project_id, Sample.deleted_at.is_not(None))
    )
    labels = sorted({lbl for c in categories.values() for lbl in c["labels"]})
    return {"categories": categories, "labels": labels, "disabled": disabled, "trashed": trashed}


def _check_version(sample: Sample, expected: int | None) -> None:
    if expected is not None and expected != sample.version:
        raise conflict(
            "sample_changed",
            f"sample {sample.id} was changed by someone else (version {sample.version}, "
            f"you edited version {expected}); reload it and try again",
        )


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


def crop(
    *, db: Session, sample: Sample, user: User, start_ms: float, end_ms: float, version: int | None
) -> Sample:
    """Keeps only [start_ms, end_ms) of a sample's values (the original upload is kept)."""
    _check_version(sample, version)
    start, end = _row_range(sample, start_ms, end_ms)
    values = load_values(sample)[start:end]
    sample.values_key, sample.values_sha256 = store_values(sample.project_id, values)
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
    values = load_values(sample)
    parts = []
    for number, start in enumerate(range(0, sample.length - window + 1, stride), start=1):
        key, digest = store_values(sample.project_id, values[start : start + window])
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


def trash(*, samples: Iterable[Sample]) -> int:
    """Moves samples to the trash (restorable for TRASH_DAYS days); returns how many moved."""
    now = utcnow()
    count = 0
    for sample in samples:
        if sample.deleted_at is None:
            sample.deleted_at = now
            count += 1
    return count


def restore(*, samples: Iterable[Sample]) -> int:
    """Takes samples out of the trash; returns how many came back."""
    count = 0
    for sample in samples:
        if sample.deleted_at is not None:
            sample.deleted_at = None
            count += 1
    return count


def _blob_in_use(db: Session, key: str, exclude: set[int]) -> bool:
    column = Sample.values_key if key.endswith(".f32") else Sample.original_key
    used = db.scalar(
        select(func.count()).where(column == key, Sample.id.not_in(exclude) if exclude else true())
    )
    if used:
        return True
    if key.endswith(".f32"):
        # Dataset versions keep the values they were made from.
        project_id = int(key.split("/")[1])
        for (entries,) in db.execute(
            select(DatasetVersion.entries).where(DatasetVersion.project_id == project_id)
        ):
            if any(entry.get("values_key") == key for entry in entries):
                return True
    return False


def purge(
    *,
    db: Session,
    project_id: int,
    sample_ids: Sequence[int] | None,
    older_than: timedelta | None = None,
) -> int:
    """Deletes trashed samples for good (all of the project's trash when no ids are given)."""
    statement = select(Sample).where(
        Sample.project_id == project_id, Sample.deleted_at.is_not(None)
    )
    if sample_ids is not None:
        statement = statement.where(Sample.id.in_(sample_ids))
    if older_than is not None:
        statement = statement.where(Sample.deleted_at < utcnow() - older_than)
    doomed = list(db.scalars(statement))
    ids = {s.id for s in doomed}
    keys = {s.values_key for s in doomed} | {s.original_key for s in doomed}
    for sample in doomed:
        db.delete(sample)
    db.flush()
    store = get_blob_store()
    for key in keys:
        if not _blob_in_use(db, key, ids):
            store.delete(key)
    return len(doomed)


def purge_expired(*, db: Session) -> int:
    """Deletes for good every sample that has been in the trash for TRASH_DAYS days."""
    cutoff = utcnow() - timedelta(days=TRASH_DAYS)
    project_ids = set(
        db.scalars(select(Sample.project_id).where(Sample.deleted_at < cutoff).distinct())
    )
    count = 0
    for project_id in project_ids:
        count += purge(
            db=db, project_id=project_id, sample_ids=None, older_than=timedelta(days=TRASH_DAYS)
        )
    db.commit()
    return count


def rebalance(*, db: Session, project_id: int, user: User) -> dict[str, int]:
    """Moves training/testing samples so each label is split 80/20, stable by hash."""
    samples = list(
        db.scalars(
            select(Sample).where(
                Sample.project_id == project_id,
                Sample.deleted_at.is_(None),
                Sample.category.in_([Category.training, Category.testing]),
            )
        )
    )
    by_label: dict[str | None, list[Sample]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, []).append(sample)
    moved = 0
    for group in by_label.values():
        group.sort(
            key=lambda s: hashlib.sha256(
                f"{s.sha256}:{s.values_sha256}:{s.id}".encode()
            ).hexdigest()
        )
        training = int(round(len(group) * TRAINING_SHARE))
        for index, sample in enumerate(group):
            want = Category.training if index < training else Category.testing
            if sample.category != want:
                sample.category = want
                moved += 1
    projects.record(
        db=db, project_id=project_id, action="dataset.rebalanced", user=user, moved=moved
    )
    return {"moved": moved, "samples": len(samples)}


def duplicates(*, db: Session, project_id: int) -> list[list[Sample]]:
    """Groups of live samples with the same uploaded content (sha256)."""
    hashes = [
        digest
        for (digest,) in db.execute(
            select(Sample.sha256)
            .where(Sample.project_id == project_id, Sample.deleted_at.is_(None))
            .group_by(Sample.sha256)
            .having(func.count() > 1)
        )
    ]
    groups = []
    for digest in hashes:
        groups.append(
            list(
                db.scalars(
                    select(Sample)
                    .where(
                        Sample.project_id == project_id,
                        Sample.sha256 == digest,
                        Sample.deleted_at.is_(None),
                    )
                    .order_by(Sample.id)
                )
            )
        )
    return groups


def downsample(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and values for plotting: min and max of each bucket, so peaks survive."""
    length = values.shape[0]
    if length <= max_points:
        return np.arange(length), values
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, length, buckets + 1).astype(np.int64)
    indices = []
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        chunk = values[start:end]
        low = start + chunk.argmin(axis=0)
        high = start + chunk.argmax(axis=0)
        indices.append(np.minimum(low, high))
        indices.append(np.maximum(low, high))
    # One index set for all axes: every axis keeps its extremes at their own rows.
    rows = np.unique(np.concatenate(indices))
    return rows, values[rows]


def plot_values(sample: Sample, max_points: int) -> dict[str, Any]:
    values = load_values(sample)
    rows, picked = downsample(values, max_points)
    return {
        "sample_id": sample.id,
        "interval_ms": sample.interval_ms,
        "length": sample.length,
        "downsampled": bool(len(rows) < sample.length),
        "t_ms": (rows * sample.interval_ms).round(6).tolist(),
        "axes": [
            {"name": s["name"], "units": s["units"], "values": picked[:, i].tolist()}
            for i, s in enumerate(sample.sensors)
        ],
    }


def audio_wav(sample: Sample) -> bytes:
    """The sample as a 16-bit PCM WAV for playback (first axis; values scaled to int16)."""
    values = load_values(sample)[:, 0].astype(np.float64)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak <= 1.0 and peak > 0:
        values = values * 32767.0  # float audio in [-1, 1]
    elif peak > 32767.0:
        values = values * (32767.0 / peak)
    pcm = np.clip(np.round(values), -32768, 32767).astype("<i2")
    rate = int(round(1000.0 / sample.interval_ms))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(max(rate, 1))
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


def create_version(*, db: Session, project_id: int, name: str, user: User | None) -> DatasetVersion:
    """Snapshots the enabled, live samples with their labels, categories and values."""
    samples = list(
        db.scalars(
            select(Sample)
            .where(
                Sample.project_id == project_id,
                Sample.deleted_at.is_(None),
                Sample.enabled.is_(True),
            )
            .order_by(Sample.id)
        )
    )
    if not name.strip():
        raise bad_request("invalid_name", "the version name must not be blank", field="name")
    entries = [
        {
            "sample_id": s.id,
            "name": s.name,
            "label": s.label,
            "category": s.category,
            "values_key": s.values_key,
            "values_sha256": s.values_sha256,
            "length": s.length,
            "axes": s.axes,
            "interval_ms": s.interval_ms,
            "sensors": s.sensors,
        }
        for s in samples
    ]
    fingerprint = hashlib.sha256(
        json.dumps(
            [[e["sample_id"], e["label"], e["category"], e["values_sha256"]] for e in entries]
        ).encode()
    ).hexdigest()
    version = DatasetVersion(
        project_id=project_id,
        name=name.strip(),
        entries=entries,
        sample_count=len(entries),
        fingerprint=fingerprint,
        created_by_id=user.id if user else None,
    )
    db.add(version)
    db.flush()
    projects.record(
        db=db, project_id=project_id, action="dataset.version_created", user=user,
        version_id=version.id, samples=len(entries),
    )  # fmt: skip
    return version


def upload_error_to_api(exc: UploadError) -> ApiError:
    return ApiError(exc.http_status, "upload_refused", str(exc), **exc.to_dict())
