"""The job lifecycle on a real worker and broker: progress, events, artifacts, failure, cancel,
recovery of jobs whose worker stopped."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import timedelta
from typing import Any

from backend.core.blobs import get_blob_store
from backend.jobs.celery_app import QUEUE_LIGHT
from backend.jobs.lifecycle import JobContext, job_task


@job_task("test.fail", queue=QUEUE_LIGHT)
def failing_task(ctx: JobContext) -> dict[str, Any]:
    ctx.progress(0.5, "half way")
    ctx.put_artifact("partial.bin", "test", b"half a result")
    raise ValueError("the sensor data had a hole in it")


@job_task("test.wait", queue=QUEUE_LIGHT)
def waiting_task(ctx: JobContext) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    step = 0
    while time.monotonic() < deadline:
        step += 1
        ctx.progress(min(step / 100, 0.99), f"step {step}", force=True)
        time.sleep(0.1)
    return {"steps": step}


def _wait(client, pid: int, job_id: int, headers, until: set[str], timeout: float = 30) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/projects/{pid}/jobs/{job_id}", headers=headers).json()
        if job["status"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")


def _events(client, url: str, headers) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    events = []
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line[6:])))
                if name == "end":
                    break
    return events


def test_export_runs_streams_progress_and_keeps_its_zip(  # type: ignore[no-untyped-def]
    blob_backend, client, make_project, worker
) -> None:
    pid, people = make_project("viewer", name="Export me")
    owner = people["owner"]
    for n in range(30):
        client.patch(
            f"/api/projects/{pid}", json={"description": f"rev {n}"}, headers=owner.headers
        )
    denied = client.post(f"/api/projects/{pid}/export", headers=people["viewer"].headers)
    assert denied.status_code == 403
    started = client.post(f"/api/projects/{pid}/export", headers=owner.headers)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    job_id = started.json()["id"]
    events = _events(client, f"/api/projects/{pid}/jobs/{job_id}/events", people["viewer"].headers)
    statuses = [data["status"] for name, data in events if name == "job"]
    assert statuses[-1] == "succeeded" and events[-1][0] == "end"
    job = events[-2][1]
    assert job["progress"] == 1.0 and job["result"]["activity_events"] >= 31
    assert "export complete" in job["log_tail"]
    [artifact] = job["artifacts"]
    download = client.get(
        f"/api/projects/{pid}/artifacts/{artifact['id']}/download", headers=people["viewer"].headers
    )
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert json.loads(archive.read("project.json"))["name"] == "Export me"
    assert len(archive.read("activity.jsonl").splitlines()) == job["result"]["activity_events"]
    log = client.get(f"/api/projects/{pid}/jobs/{job_id}/log", headers=owner.headers).json()
    assert "exporting project" in log["log"]


def test_failed_job_says_why_and_keeps_no_artifacts(client, make_project, worker, db) -> None:  # type: ignore[no-untyped-def]
    from backend.jobs import service
    from backend.jobs.models import Artifact

    pid, people = make_project()
    job = service.create(db=db, project_id=pid, kind="test.fail", params={}, user=None)
    done = _wait(client, pid, job.id, people["owner"].headers, {"failed"})
    assert done["error"] == "ValueError: the sensor data had a hole in it"
    assert done["artifacts"] == []
    log = client.get(
        f"/api/projects/{pid}/jobs/{job.id}/log", headers=people["owner"].headers
    ).json()
    assert "Traceback" in log["log"]
    db.expire_all()
    assert db.query(Artifact).filter_by(job_id=job.id).count() == 0
    assert not get_blob_store().exists(f"projects/{pid}/jobs/{job.id}/partial.bin")


def test_cancel_running_job_stops_it(client, make_project, worker, db) -> None:  # type: ignore[no-untyped-def]
    from backend.jobs import service

    pid, people = make_project("viewer")
    job = service.create(db=db, project_id=pid, kind="test.wait", params={}, user=None)
    _wait(client, pid, job.id, people["owner"].headers, {"running"})
    viewer_try = client.post(
        f"/api/projects/{pid}/jobs/{job.id}/cancel", headers=people["viewer"].headers
    )
    assert viewer_try.status_code == 403
    asked = client.post(
        f"/api/projects/{pid}/jobs/{job.id}/cancel", headers=people["owner"].headers
    )
    assert asked.status_code == 200
    done = _wait(client, pid, job.id, people["owner"].headers, {"cancelled"}, timeout=10)
    assert done["finished_at"] is not None
    again = client.post(
        f"/api/projects/{pid}/jobs/{job.id}/cancel", headers=people["owner"].headers
    )
    assert again.status_code == 409


def test_cancel_queued_job_and_its_message_is_ignored(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.jobs.lifecycle import run_job
    from backend.jobs.models import Job

    pid, people = make_project()
    job = Job(project_id=pid, kind="test.wait", params={})
    db.add(job)
    db.commit()
    answer = client.post(
        f"/api/projects/{pid}/jobs/{job.id}/cancel", headers=people["owner"].headers
    )
    assert answer.json()["status"] == "cancelled"
    assert run_job(job.id, waiting_task.run_job) == "skipped"


def test_job_of_a_dead_worker_is_retried_then_failed(client, make_project, worker, db) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import utcnow
    from backend.jobs import service
    from backend.jobs.models import Job

    pid, people = make_project()
    stale = utcnow() - timedelta(minutes=10)
    # A worker claimed this export and died: no heartbeat for ten minutes.
    orphan = Job(
        project_id=pid, kind="project.export", status="running", attempts=1, heartbeat_at=stale
    )
    hopeless = Job(
        project_id=pid, kind="project.export", status="running", attempts=2, heartbeat_at=stale
    )
    db.add_all([orphan, hopeless])
    db.commit()
    assert service.reap_stale(db=db) >= 2
    retried = _wait(client, pid, orphan.id, people["owner"].headers, {"succeeded", "failed"})
    assert retried["status"] == "succeeded" and retried["attempts"] == 2
    failed = client.get(
        f"/api/projects/{pid}/jobs/{hopeless.id}", headers=people["owner"].headers
    ).json()
    assert failed["status"] == "failed" and "worker" in failed["error"]


def test_jobs_list_filters(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.jobs.models import Job

    pid, people = make_project()
    db.add_all(
        [
            Job(project_id=pid, kind="project.export", status="succeeded"),
            Job(project_id=pid, kind="test.wait", status="failed"),
        ]
    )
    db.commit()
    page = client.get(
        f"/api/projects/{pid}/jobs", params={"status": "failed"}, headers=people["owner"].headers
    ).json()
    assert page["total"] == 1 and page["items"][0]["kind"] == "test.wait"
