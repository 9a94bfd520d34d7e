"""Job operations: create and enqueue after commit, cancel, read, and recover stale jobs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import conflict, not_found
from backend.jobs.celery_app import celery_app
from backend.jobs.lifecycle import TASKS
from backend.jobs.models import TERMINAL_STATUSES, Artifact, Job, JobStatus
from backend.projects import service as projects

logger = logging.getLogger("tinystudio.jobs")


def create(
    *, db: Session, project_id: int, kind: str, params: dict[str, Any], user: User | None
) -> Job:
    """Creates a job, commits it, then hands its id to the broker."""
    job = add(db=db, project_id=project_id, kind=kind, params=params, user=user)
    db.commit()
    enqueue(db=db, job=job)
    return job


def add(
    *, db: Session, project_id: int, kind: str, params: dict[str, Any], user: User | None
) -> Job:
    """Adds a job to the session's transaction; the caller commits, then enqueues it."""
    if kind not in TASKS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        project_id=project_id, kind=kind, params=params, created_by_id=user.id if user else None
    )
    db.add(job)
    db.flush()
    projects.record(
        db=db, project_id=project_id, action="job.created", user=user, job_id=job.id, kind=kind
    )
    return job


def _send(task_name: str, queue: str, job_id: int) -> None:
    try:
        celery_app.send_task(task_name, args=[job_id], queue=queue)
    except Exception:
        # A pooled channel can be left without its connection (seen once with the embedded
        # SQLAlchemy transport while the upkeep thread also publishes): once more on a
        # connection of its own before calling the broker unreachable.
        logger.warning("enqueuing job %s on a pooled connection failed; retrying", job_id)
        with celery_app.connection_for_write() as connection:
            celery_app.send_task(task_name, args=[job_id], queue=queue, connection=connection)


def enqueue(*, db: Session, job: Job) -> None:
    spec = TASKS[job.kind]
    try:
        _send(spec.task_name, spec.queue, job.id)
    except Exception as exc:  # the broker is unreachable: say so on the job, lose nothing
        logger.exception("could not enqueue job %s", job.id)
        job.status = JobStatus.failed
        job.error = f"could not reach the job broker: {exc}"
        job.finished_at = utcnow()
        db.commit()


def get(*, db: Session, project_id: int, job_id: int) -> Job:
    """Gets a job of a project by its id."""
    job = db.get(Job, job_id)
    if job is None or job.project_id != project_id:
        raise not_found("job")
    return job


def cancel(*, db: Session, job: Job, user: User) -> Job:
    """Asks a job to stop; a queued job is cancelled at once, a running one at its next step."""
    if job.status in TERMINAL_STATUSES:
        raise conflict("job_finished", f"the job already {job.status}")
    db.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    db.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.queued)
        .values(status=JobStatus.cancelled, finished_at=utcnow(), error="cancelled")
    )
    projects.record(
        db=db, project_id=job.project_id, action="job.cancelled", user=user, job_id=job.id
    )
    db.commit()
    db.refresh(job)
    return job


def visible_artifacts(*, db: Session, job: Job) -> list[Artifact]:
    """A job's artifacts, only once it succeeded."""
    if job.status != JobStatus.succeeded:
        return []
    return list(db.scalars(select(Artifact).where(Artifact.job_id == job.id).order_by(Artifact.id)))


def reap_stale(*, db: Session) -> int:
    """Requeues (or fails) running jobs whose worker stopped beating; returns how many."""
    settings = get_settings()
    stale = utcnow() - timedelta(seconds=settings.job_stale_seconds)
    rows = list(
        db.scalars(select(Job).where(Job.status == JobStatus.running, Job.heartbeat_at < stale))
    )
    for job in rows:
        if job.attempts >= settings.job_max_attempts or job.kind not in TASKS:
            job.status = JobStatus.failed
            job.error = "the worker running this job stopped (crashed or was killed)"
            job.finished_at = utcnow()
            db.commit()
        else:
            job.status = JobStatus.queued
            job.log += "[requeued] the worker running this job stopped; trying again\n"
            db.commit()
            enqueue(db=db, job=job)
    return len(rows)
