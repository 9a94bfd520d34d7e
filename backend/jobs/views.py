"""Routes to list, read, follow (server-sent events), cancel jobs and download their artifacts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from backend.core.db import get_sessionmaker
from backend.core.deps import MAX_ID, Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.core.downloads import blob_download
from backend.core.errors import not_found
from backend.jobs import service
from backend.jobs.models import TERMINAL_STATUSES, Artifact, Job, JobStatus
from backend.jobs.schemas import ArtifactOut, JobLog, JobOut, JobPage

router = APIRouter(prefix="/api/projects/{project_id}", tags=["jobs"])


def job_out(db: Session, job: Job) -> JobOut:
    out = JobOut.model_validate(job)
    out.artifacts = [
        ArtifactOut.model_validate(a) for a in service.visible_artifacts(db=db, job=job)
    ]
    return out


@router.get("/jobs", openapi_extra=access("project:viewer"))
def list_jobs(
    ctx: ProjectViewer,
    db: SessionDep,
    kind: str | None = None,
    status: JobStatus | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> JobPage:
    """The project's jobs, newest first."""
    query = select(Job).where(Job.project_id == ctx.project.id)
    if kind:
        query = query.where(Job.kind == kind)
    if status:
        query = query.where(Job.status == status)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset))
    return JobPage(items=[job_out(db, job) for job in rows], total=total)


@router.get("/jobs/{job_id}", openapi_extra=access("project:viewer"))
def read_job(job_id: Id, ctx: ProjectViewer, db: SessionDep) -> JobOut:
    """One job: status, progress, result or error, and artifacts once it succeeded."""
    return job_out(db, service.get(db=db, project_id=ctx.project.id, job_id=job_id))


@router.get("/jobs/{job_id}/log", openapi_extra=access("project:viewer"))
def read_job_log(job_id: Id, ctx: ProjectViewer, db: SessionDep) -> JobLog:
    """The job's full log."""
    job = service.get(db=db, project_id=ctx.project.id, job_id=job_id)
    return JobLog(job_id=job.id, log=job.log)


@router.post("/jobs/{job_id}/cancel", openapi_extra=access("project:editor"))
def cancel_job(job_id: Id, ctx: ProjectEditor, db: SessionDep) -> JobOut:
    """Cancels a queued or running job."""
    job = service.get(db=db, project_id=ctx.project.id, job_id=job_id)
    return job_out(db, service.cancel(db=db, job=job, user=ctx.user))


def _snapshot(project_id: int, job_id: int) -> tuple[str, bool]:
    with get_sessionmaker()() as db:
        job = db.get(Job, job_id)
        if job is None or job.project_id != project_id:
            return "", True
        payload = job_out(db, job).model_dump(mode="json")
        payload["log_tail"] = job.log[-4000:]
        return json.dumps(payload), job.status in TERMINAL_STATUSES


@router.get(
    "/jobs/{job_id}/events",
    openapi_extra=access("project:viewer"),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(job_id: Id, request: Request, ctx: ProjectViewer) -> StreamingResponse:
    """Server-sent events: one `job` event each time the job changes, then `end`."""
    project_id = ctx.project.id
    first, _ = await run_in_threadpool(_snapshot, project_id, job_id)
    if not first:
        raise not_found("job")

    async def stream() -> AsyncIterator[str]:
        last = ""
        last_sent = time.monotonic()
        while True:
            data, finished = await run_in_threadpool(_snapshot, project_id, job_id)
            if data and data != last:
                last = data
                last_sent = time.monotonic()
                yield f"event: job\ndata: {data}\n\n"
            if finished or not data:
                yield "event: end\ndata: {}\n\n"
                return
            if time.monotonic() - last_sent > 15:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.25)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/artifacts/{artifact_id}/download",
    openapi_extra=access("project:viewer"),
    response_class=StreamingResponse,
    responses={307: {"description": "A redirect to a short-lived download URL of the blob store"}},
)
def download_artifact(artifact_id: Id, ctx: ProjectViewer, db: SessionDep) -> Response:
    """Downloads an artifact of a job that succeeded (with presigned downloads on, a large one
    from the blob store itself, through a redirect)."""
    artifact = db.get(Artifact, artifact_id)
    job = db.get(Job, artifact.job_id) if artifact else None
    if artifact is None or artifact.project_id != ctx.project.id or job is None:
        raise not_found("artifact")
    if job.status != JobStatus.succeeded:
        raise not_found("artifact")
    return blob_download(artifact.blob_key, filename=artifact.name, media_type=artifact.media_type)
