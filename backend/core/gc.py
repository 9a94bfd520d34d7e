"""Blobs follow their rows: writes undone with their transaction, and a collector for the rest."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, SessionTransaction

from backend.byo.models import UploadedModel
from backend.core.blobs import BlobInfo, BlobStore, get_blob_store
from backend.core.db import get_sessionmaker, utcnow
from backend.datasets.models import DatasetVersion, Sample
from backend.impulses.models import FeatureSet
from backend.jobs.models import TERMINAL_STATUSES, Artifact, Job, JobStatus

logger = logging.getLogger("tinystudio.gc")

# A blob younger than this may belong to a write whose row is not committed yet.
GRACE = timedelta(hours=1)
# How often the API's upkeep loop collects.
COLLECT_EVERY_SECONDS = 24 * 3600.0

_WRITTEN = "tinystudio.blobs_written"
_RELEASED = "tinystudio.blobs_released"
_FOLDERS = "tinystudio.blob_folders_released"

# Artifacts of jobs that ended without success are never shown: they hold nothing.
_DEAD_JOBS = (JobStatus.failed, JobStatus.cancelled)


def written(db: Session, key: str) -> None:
    """Ties a blob just written to `db`'s transaction: unless it commits, the blob goes."""
    if not db.in_transaction():
        db.begin()  # so the end of the transaction is seen even if it writes no row
    db.info.setdefault(_WRITTEN, set()).add(key)


def released(db: Session, key: str) -> None:
    """Marks a blob as no longer needed by `db`'s changes: once they commit, it goes unless
    another row still refers to it (content-addressed blobs are shared)."""
    db.info.setdefault(_RELEASED, set()).add(key)


def folder_released(db: Session, prefix: str) -> None:
    """Deletes the whole blob folder `prefix` once `db`'s transaction commits."""
    db.info.setdefault(_FOLDERS, set()).add(prefix)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    session.info.pop(_WRITTEN, None)
    keys = session.info.pop(_RELEASED, set())
    for prefix in session.info.pop(_FOLDERS, set()):
        try:
            get_blob_store().delete_prefix(prefix)
        except Exception:  # the rows are gone already; collect() removes the blobs later
            logger.exception("could not delete the blob folder %s", prefix)
    if keys:
        _discard_quietly(session, keys)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    # After a commit these were already popped; whatever is left was rolled back or abandoned.
    session.info.pop(_RELEASED, None)
    session.info.pop(_FOLDERS, None)
    keys = session.info.pop(_WRITTEN, None)
    if keys:
        _discard_quietly(session, keys)


def _discard_quietly(session: Session, keys: set[str]) -> None:
    try:
        with Session(session.get_bind()) as db:
            discard_unreferenced(db=db, keys=keys)
    except Exception:  # never hide the error that ended the transaction; collect() retries
        logger.exception("could not discard %d blobs", len(keys))


def discard_unreferenced(*, db: Session, keys: Iterable[str]) -> int:
    """Deletes those of `keys` that no committed row refers to; returns how many went."""
    keys = set(keys)
    doomed = keys - referenced_keys(db, among=keys)
    store = get_blob_store()
    for key in doomed:
        store.delete(key)
    return len(doomed)


def referenced_keys(db: Session, among: set[str] | None = None) -> set[str]:
    """Every blob key some row refers to (only those in `among`, when given)."""

    def narrowed(statement: Select[Any], column: Any) -> Select[Any]:
        return statement if among is None else statement.where(column.in_(among))

    found: set[str] = set()
    for column in (
        Sample.values_key, Sample.original_key, FeatureSet.blob_key, UploadedModel.original_key,
        UploadedModel.representative_key,
    ):  # fmt: skip
        found |= set(db.scalars(narrowed(select(column), column)))
    live = select(Artifact.blob_key).join(Job, Job.id == Artifact.job_id)
    found |= set(db.scalars(narrowed(live, Artifact.blob_key).where(Job.status.not_in(_DEAD_JOBS))))
    projects = None
    if among is not None:
        projects = {int(k.split("/")[1]) for k in among if k.startswith("projects/")}
    found |= _version_keys(db, projects) | _job_param_keys(db)
    return found if among is None else found & among


def _version_keys(db: Session, project_ids: set[int] | None) -> set[str]:
    """Values kept by dataset versions (of the given projects, else of all)."""
    statement = select(DatasetVersion.entries)
    if project_ids is not None:
        statement = statement.where(DatasetVersion.project_id.in_(project_ids))
    return {e["values_key"] for entries in db.scalars(statement) for e in entries}


def _job_param_keys(db: Session) -> set[str]:
    """Uploads waiting for their job (a dataset import's zip)."""
    params = db.scalars(select(Job.params).where(Job.status.not_in(TERMINAL_STATUSES)))
    return {p["blob_key"] for p in params if isinstance((p or {}).get("blob_key"), str)}


@dataclass
class Collection:
    """What a collection removed (or would remove) and what it left for later."""

    removed: list[BlobInfo] = field(default_factory=list)
    too_young: int = 0
    dead_artifacts: int = 0

    @property
    def removed_bytes(self) -> int:
        return sum(blob.size_bytes for blob in self.removed)


def collect(
    *, db: Session, store: BlobStore, grace: timedelta = GRACE, dry_run: bool = False
) -> Collection:
    """Removes every blob no row refers to that is older than `grace` (reports only, when
    `dry_run`); rows of artifacts of failed or cancelled jobs go first."""
    outcome = Collection()
    dead = list(
        db.scalars(
            select(Artifact).join(Job, Job.id == Artifact.job_id).where(Job.status.in_(_DEAD_JOBS))
        )
    )
    outcome.dead_artifacts = len(dead)
    if not dry_run:
        for artifact in dead:
            db.delete(artifact)
        db.commit()
    # Listed before the references are read: a blob written after this point is not seen,
    # and one written before has its row by now or is younger than the grace period.
    listed = list(store.iterate())
    keep = referenced_keys(db)
    cutoff = utcnow() - grace
    for blob in listed:
        if blob.key in keep:
            continue
        if blob.modified_at > cutoff:
            outcome.too_young += 1
            continue
        outcome.removed.append(blob)
        if not dry_run:
            store.delete(blob.key)
    return outcome


_last_collected: dict[str, float] = {}


def collect_if_due(now: float | None = None) -> Collection | None:
    """Collects at most once per COLLECT_EVERY_SECONDS in this process (the API's upkeep)."""
    now = time.monotonic() if now is None else now
    last = _last_collected.get("at")
    if last is not None and now - last < COLLECT_EVERY_SECONDS:
        return None
    _last_collected["at"] = now
    with get_sessionmaker()() as db:
        outcome = collect(db=db, store=get_blob_store())
    if outcome.removed or outcome.dead_artifacts:
        logger.info(
            "removed %d unreferenced blobs (%d bytes)", len(outcome.removed), outcome.removed_bytes
        )
    return outcome


def describe(outcome: Collection, *, dry_run: bool) -> list[str]:
    """Lines for the CLI: each blob removed (or that would be), then a total."""
    verb = "would remove" if dry_run else "removed"
    lines: list[str] = [f"{verb} {b.key} ({b.size_bytes} bytes)" for b in outcome.removed]
    summary: dict[str, Any] = {
        "blobs": len(outcome.removed),
        "bytes": outcome.removed_bytes,
        "younger than the grace period": outcome.too_young,
        "artifacts of failed jobs": outcome.dead_artifacts,
    }
    lines.append(f"{verb}: " + ", ".join(f"{v} {k}" for k, v in summary.items()))
    return lines
