"""Dataset operations: store parsed uploads, list and summarise, edit, crop and split, trash,
rebalance and duplicates (reading values for the browser is in reading.py, dataset versions in
versions.py)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

import numpy as np
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core import gc
from backend.core.blobs import get_blob_store
from backend.core.config import get_settings
from backend.core.db import lock_row, utcnow
from backend.core.errors import ApiError, not_found
from backend.datasets import undo
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


def store_values(
    project_id: int, values: np.ndarray, *, db: Session | None = None
) -> tuple[str, str]:
    """Keeps a (time x axes) float32 array as a content-addressed blob; returns (key, sha256).

    Given `db`, a blob this call creates goes again unless `db`'s transaction commits."""
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    digest = hashlib.sha256(data).hexdigest()
    key = _values_key(project_id, digest)
    store = get_blob_store()
    if not store.exists(key):
        store.put(key, data)
        if db is not None:
            gc.written(db, key)
    return key, digest


def load_values(sample: Sample) -> np.ndarray:
    """The sample's values as a (length x axes) float32 array."""
    data = get_blob_store().get(sample.values_key)
    return np.frombuffer(data, dtype="<f4").reshape(sample.length, sample.axes)


def _store_original(
    db: Session, project_id: int, parsed: ParsedSample, source: BinaryIO | None, fmt: str
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
    gc.written(db, key)
    return key


def find_duplicate(*, db: Session, project_id: int, sha256: str) -> Sample | None:
    return db.scalar(
        select(Sample).where(
            Sample.project_id == project_id, Sample.sha256 == sha256, Sample.deleted_at.is_(None)
        )
    )


def _refuse_duplicate(db: Session, project_id: int, sha256: str, filename: str) -> None:
    duplicate = find_duplicate(db=db, project_id=project_id, sha256=sha256)
    if duplicate is not None:
        raise UploadError(
            filename,
            f"the same file is already stored as sample {duplicate.id} ({duplicate.name})",
            http_status=409,
        )


def lock_samples(*, db: Session, project_id: int) -> None:
    """Makes uploads to a project that check for duplicates run one at a time until commit.

    A unique index cannot do it, since uploads that allow duplicates may store a file twice:
    the project's row is locked instead (samples may still be inserted meanwhile)."""
    lock_row(db, Project, project_id)


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
        _refuse_duplicate(db, project.id, parsed.sha256, filename)
    category = split_category(parsed.sha256) if options.category == SPLIT else options.category
    if category not in Category.__members__:
        raise UploadError(filename, f"unknown category {category!r}", field="category")
    values_key, values_sha = store_values(project.id, parsed.values, db=db)
    original_key = _store_original(db, project.id, parsed, source, parsed.format)
    if options.disallow_duplicates:
        # Checked again holding the lock: the same file may have been stored since, by an
        # upload racing this one; the first check only spared the blob writes.
        lock_samples(db=db, project_id=project.id)
        _refuse_duplicate(db, project.id, parsed.sha256, filename)
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
    for key in keys:
        if not _blob_in_use(db, key, ids):
            gc.released(db, key)  # deleted once the purge commits, kept if it rolls back
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


def _rebalance_moves(db: Session, project_id: int) -> tuple[int, list[tuple[Sample, Category]]]:
    """The training/testing samples a rebalance splits, and each one it moves with where to."""
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
    moves = []
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
                moves.append((sample, want))
    return len(samples), moves


def rebalance_plan(*, db: Session, project_id: int) -> dict[str, int]:
    """How many samples a rebalance would move to training and to testing, of how many."""
    samples, moves = _rebalance_moves(db, project_id)
    to_training = sum(1 for _, want in moves if want == Category.training)
    return {"to_training": to_training, "to_testing": len(moves) - to_training, "samples": samples}


def rebalance(*, db: Session, project_id: int, user: User) -> dict[str, Any]:
    """Moves training/testing samples so each label is split 80/20, stable by hash; answers
    the moved samples' states before, to undo it."""
    samples, moves = _rebalance_moves(db, project_id)
    wanted = {sample.id: want for sample, want in moves}
    previous = undo.apply(
        db=db,
        samples=[sample for sample, _ in moves],
        change=lambda sample: setattr(sample, "category", wanted[sample.id].value),
    )
    projects.record(
        db=db, project_id=project_id, action="dataset.rebalanced", user=user, moved=len(moves)
    )
    return {"moved": len(moves), "samples": samples, "previous": previous}


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


def upload_error_to_api(exc: UploadError) -> ApiError:
    return ApiError(exc.http_status, "upload_refused", str(exc), **exc.to_dict())
