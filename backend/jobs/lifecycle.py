"""The one path every task goes through: claim, heartbeat, progress, log, artifacts, outcome."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.core import gc
from backend.core.blobs import get_blob_store
from backend.core.blobs.cache import CacheStats, cache_stats
from backend.core.config import get_settings
from backend.core.db import get_sessionmaker, utcnow
from backend.core.errors import ApiError
from backend.jobs.celery_app import celery_app
from backend.jobs.models import Artifact, Job, JobStatus

logger = logging.getLogger("tinystudio.jobs")

MAX_LOG_CHARS = 1_000_000


class JobCancelled(Exception):
    """Raised inside a task when its job was cancelled."""


class JobFailed(Exception):
    """Raised by a task to fail its job with a message meant for the user."""


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    task_name: str
    queue: str


TASKS: dict[str, TaskSpec] = {}


class JobContext:
    """What a task sees of its job: parameters, progress, log, cancellation and artifacts."""

    def __init__(self, job: Job) -> None:
        self.job_id = job.id
        self.project_id = job.project_id
        self.params: dict[str, Any] = dict(job.params or {})
        self.attempt = job.attempts
        self._last_progress_write = 0.0
        self._artifacts: list[int] = []

    def _update(self, **values: Any) -> int:
        with get_sessionmaker()() as db:
            result = db.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == JobStatus.running)
                .values(**values, heartbeat_at=utcnow())
            )
            db.commit()
            return result.rowcount  # type: ignore[attr-defined, no-any-return]

    def is_cancelled(self) -> bool:
        """Whether the job was asked to stop (for loops that stop cleanly on their own)."""
        with get_sessionmaker()() as db:
            row = db.execute(
                select(Job.cancel_requested, Job.status).where(Job.id == self.job_id)
            ).one()
        return bool(row.cancel_requested or row.status != JobStatus.running)

    def set_partial_result(self, result: dict[str, Any]) -> None:
        """Publishes a partial result while the job runs (e.g. metrics per epoch)."""
        self._update(result=result)

    def check_cancelled(self) -> None:
        if self.is_cancelled():
            raise JobCancelled()

    def progress(self, fraction: float, message: str = "", *, force: bool = False) -> None:
        """Reports progress (0..1) and checks for cancellation; writes at most 5 times a second."""
        now = time.monotonic()
        if not force and now - self._last_progress_write < 0.2 and fraction < 1.0:
            return
        self._last_progress_write = now
        values: dict[str, Any] = {"progress": max(0.0, min(1.0, float(fraction)))}
        if message:
            values["progress_message"] = message[:500]
        self._update(**values)
        self.check_cancelled()

    def log(self, line: str) -> None:
        """Appends a line to the job's log."""
        stamp = utcnow().strftime("%H:%M:%S")
        with get_sessionmaker()() as db:
            job = db.get(Job, self.job_id)
            if job is None:
                return
            job.log = (job.log + f"[{stamp}] {line.rstrip()}\n")[-MAX_LOG_CHARS:]
            job.heartbeat_at = utcnow()
            db.commit()

    def put_artifact(
        self,
        name: str,
        kind: str,
        source: bytes | Path,
        media_type: str = "application/octet-stream",
    ) -> int:
        """Stores an artifact of this job; it becomes visible only when the job succeeds."""
        store = get_blob_store()
        key = f"projects/{self.project_id}/jobs/{self.job_id}/{name}"
        digest = hashlib.sha256()
        with get_sessionmaker()() as db:
            if isinstance(source, Path):
                with source.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                size = store.put_file(key, source)
            else:
                digest.update(source)
                size = store.put(key, source)
            # If the row cannot be written (the job or project was deleted meanwhile), the
            # blob goes with the rolled back transaction.
            gc.written(db, key)
            row = Artifact(
                job_id=self.job_id, project_id=self.project_id, name=name, kind=kind,
                blob_key=key, size_bytes=size, sha256=digest.hexdigest(), media_type=media_type,
            )  # fmt: skip
            db.add(row)
            db.commit()
            self._artifacts.append(row.id)
            return row.id


def _claim(job_id: int) -> Job | None:
    """Takes the job if it is queued (or running on a worker that stopped beating)."""
    settings = get_settings()
    now = utcnow()
    stale = now - timedelta(seconds=settings.job_stale_seconds)
    with get_sessionmaker()() as db:
        result = db.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                or_(
                    Job.status == JobStatus.queued,
                    (Job.status == JobStatus.running) & (Job.heartbeat_at < stale),
                ),
            )
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                worker=f"{socket.gethostname()}:{threading.get_native_id()}",
            )
        )
        db.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        job = db.get(Job, job_id)
        assert job is not None
        if job.attempts > settings.job_max_attempts:
            _finish(job_id, JobStatus.failed, error="the worker running this job stopped too often")
            return None
        return job


def _finish(job_id: int, status: JobStatus, **values: Any) -> bool:
    now = utcnow()
    with get_sessionmaker()() as db:
        job = db.get(Job, job_id)
        if job is None or job.status != JobStatus.running:
            return False
        timings = dict(job.timings or {})
        if job.started_at is not None:
            timings["run_s"] = round((now - job.started_at).total_seconds(), 3)
        timings["total_s"] = round((now - job.created_at).total_seconds(), 3)
        result = db.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running)
            .values(status=status, finished_at=now, timings=timings, **values)
        )
        if status != JobStatus.succeeded:
            _drop_artifacts(db, job_id)
        db.commit()
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _drop_artifacts(db: Session, job_id: int) -> None:
    """Deletes a job's artifact rows; their blobs go once that commits."""
    for artifact in db.scalars(select(Artifact).where(Artifact.job_id == job_id)):
        gc.released(db, artifact.blob_key)
        db.delete(artifact)


def _failure_message(exc: Exception) -> str:
    """What a failed job tells its user: an API error's own message (e.g. the blob store is
    full), else the exception."""
    if isinstance(exc, ApiError):
        detail: dict[str, Any] = exc.detail  # type: ignore[assignment]
        return str(detail["message"])
    return f"{type(exc).__name__}: {exc}"


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int, every: float) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.job_id = job_id
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with get_sessionmaker()() as db:
                    db.execute(
                        update(Job)
                        .where(Job.id == self.job_id, Job.status == JobStatus.running)
                        .values(heartbeat_at=utcnow())
                    )
                    db.commit()
            except Exception:  # a missed beat is harmless; the next one retries
                logger.exception("heartbeat for job %s failed", self.job_id)


def _log_blob_cache(ctx: JobContext, before: CacheStats) -> None:
    """How the job's reads of immutable blobs went, when it made any through the cache."""
    used = cache_stats().since(before)
    if used.hits or used.misses:
        ctx.log(
            f"blob cache: {used.hits} hits, {used.misses} misses, "
            f"{used.bytes_fetched} bytes downloaded"
        )


def run_job(job_id: int, fn: Callable[[JobContext], dict[str, Any] | None]) -> str:
    """Runs `fn` for job `job_id` through the lifecycle; returns the final status."""
    job = _claim(job_id)
    if job is None:
        logger.info("job %s was not claimable (taken, cancelled or finished)", job_id)
        return "skipped"
    ctx = JobContext(job)
    heartbeat = _Heartbeat(job_id, get_settings().job_heartbeat_seconds)
    heartbeat.start()
    cache_before = cache_stats()
    try:
        try:
            result = fn(ctx) or {}
        finally:
            _log_blob_cache(ctx, cache_before)
    except JobCancelled:
        _finish(job_id, JobStatus.cancelled, error="cancelled")
        return JobStatus.cancelled
    except JobFailed as exc:
        ctx.log(f"failed: {exc}")
        _finish(job_id, JobStatus.failed, error=str(exc))
        return JobStatus.failed
    except Exception as exc:
        ctx.log(traceback.format_exc())
        _finish(job_id, JobStatus.failed, error=_failure_message(exc))
        return JobStatus.failed
    finally:
        heartbeat.stopped.set()
    if _finish(job_id, JobStatus.succeeded, result=result, progress=1.0):
        return JobStatus.succeeded
    # Cancelled while finishing: its artifacts must not be seen as results.
    with get_sessionmaker()() as db:
        _drop_artifacts(db, job_id)
        db.commit()
    return JobStatus.cancelled


def job_task(
    kind: str, queue: str
) -> Callable[[Callable[[JobContext], dict[str, Any] | None]], Any]:
    """Registers `fn` as the Celery task for jobs of `kind`; the task takes only a job id."""

    def decorator(fn: Callable[[JobContext], dict[str, Any] | None]) -> Any:
        name = f"tinystudio.{kind}"

        @celery_app.task(name=name, acks_late=True, reject_on_worker_lost=True)
        def task(job_id: int) -> str:
            return run_job(job_id, fn)

        TASKS[kind] = TaskSpec(kind=kind, task_name=name, queue=queue)
        task.run_job = fn  # the plain function, for direct calls from tests and the CLI
        return task

    return decorator
