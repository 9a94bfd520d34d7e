"""The project export job: the project's record, members and activity as a zip in the blob store."""

from __future__ import annotations

import json
import zipfile
from typing import Any

from sqlalchemy import func, select

from backend.core.blobs import get_blob_store
from backend.core.db import get_sessionmaker
from backend.jobs.celery_app import QUEUE_LIGHT
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.projects import service
from backend.projects.models import ActivityEvent, Project

EXPORT_FORMAT_VERSION = 1
ACTIVITY_PAGE = 200


@job_task("project.export", queue=QUEUE_LIGHT)
def export_project(ctx: JobContext) -> dict[str, Any]:
    """Writes `project-<id>.zip` with project.json, members.json and activity.jsonl."""
    session_factory = get_sessionmaker()
    with session_factory() as db, get_blob_store().scratch_file(".zip") as scratch:
        project = db.get(Project, ctx.project_id)
        if project is None:
            raise JobFailed("the project no longer exists")
        total = (
            db.scalar(
                select(func.count())
                .select_from(ActivityEvent)
                .where(ActivityEvent.project_id == project.id)
            )
            or 0
        )
        ctx.log(f"exporting project {project.name!r}: {total} activity events")
        with zipfile.ZipFile(scratch, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "project.json",
                json.dumps(
                    {
                        "format": "tinystudio-project",
                        "version": EXPORT_FORMAT_VERSION,
                        "name": project.name,
                        "description": project.description,
                        "created_at": project.created_at.isoformat(),
                    },
                    indent=2,
                ),
            )
            members = [
                {"username": user.username, "role": membership.role}
                for membership, user in service.members(db=db, project_id=project.id)
            ]
            archive.writestr("members.json", json.dumps(members, indent=2))
            ctx.progress(0.1, "members written")
            written = 0
            with archive.open("activity.jsonl", "w") as out:
                last_id = 0
                while True:
                    page = list(
                        db.scalars(
                            select(ActivityEvent)
                            .where(
                                ActivityEvent.project_id == project.id,
                                ActivityEvent.id > last_id,
                            )
                            .order_by(ActivityEvent.id)
                            .limit(ACTIVITY_PAGE)
                        )
                    )
                    if not page:
                        break
                    for event in page:
                        out.write(
                            (
                                json.dumps(
                                    {
                                        "action": event.action,
                                        "details": event.details,
                                        "created_at": event.created_at.isoformat(),
                                    }
                                )
                                + "\n"
                            ).encode()
                        )
                    written += len(page)
                    last_id = page[-1].id
                    ctx.progress(
                        0.1 + 0.8 * written / max(total, 1),
                        f"{written}/{total} activity events",
                    )
        name = f"project-{project.id}.zip"
        artifact_id = ctx.put_artifact(name, "project-export", scratch, "application/zip")
    ctx.log(f"export complete: {written} activity events")
    return {"artifact_id": artifact_id, "file": name, "activity_events": written}
