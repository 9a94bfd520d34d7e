"""Blobs follow their rows: failed imports, crops, splits and jobs and deleted projects leave no
file behind (counted in the blob directory), project ids are never reused, and a blob store
that cannot be written answers 503."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from backend.core.blobs import get_blob_store

POSTGRES = bool(os.environ.get("TINYSTUDIO_TEST_POSTGRES_URL"))


def _files(prefix: str = "") -> int:
    """How many files the blob directory holds (under `prefix`)."""
    return sum(1 for _ in get_blob_store().iterate(prefix))


def _csv(rows: int, axes: int = 1, seed: int | None = None) -> bytes:
    import numpy as np

    rng = np.random.default_rng(seed)
    header = "timestamp," + ",".join(f"acc{i}" for i in range(axes))
    lines = [header] + [
        f"{r * 10}," + ",".join(f"{v:.5f}" for v in rng.normal(size=axes)) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _upload(client, pid: int, headers, data: bytes, name: str = "wave.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/projects/{pid}/samples/upload", headers=headers,
        files=[("files", (name, data, "text/csv"))], data={"category": "training"},
    )  # fmt: skip


def _sample(client, pid: int, headers, rows: int = 200) -> dict[str, Any]:
    answer = _upload(client, pid, headers, _csv(rows, seed=None))
    assert answer.status_code == 201, answer.text
    return answer.json()["files"][0]["sample"]  # type: ignore[no-any-return]


def test_failed_dataset_import_leaves_no_blob(  # type: ignore[no-untyped-def]
    blob_backend, client, make_project, worker, wait_job
) -> None:
    pid, people = make_project()
    h = people["owner"].headers
    before = _files()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for n in range(3):
            z.writestr(f"good.{n}.csv", _csv(50, axes=2, seed=None))
        z.writestr("zz-broken.csv", b"timestamp,acc0\n0,not-a-number\n")
    answer = client.post(
        f"/api/projects/{pid}/dataset/import", headers=h,
        files={"file": ("data.zip", archive.getvalue(), "application/zip")},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    job = wait_job(client, pid, answer.json()["id"], h)
    assert job["status"] == "failed" and "nothing was imported" in job["error"]
    assert client.get(f"/api/projects/{pid}/samples", headers=h).json()["total"] == 0
    assert _files() == before


def test_deleted_project_leaves_no_blob(  # type: ignore[no-untyped-def]
    blob_backend, client, make_project, worker, wait_job
) -> None:
    before = _files()
    pid, people = make_project(name="Doomed")
    h = people["owner"].headers
    _sample(client, pid, h)
    export = client.post(f"/api/projects/{pid}/export", headers=h).json()
    assert wait_job(client, pid, export["id"], h)["status"] == "succeeded"
    # A features cache and a deployment's firmware live in the same project folder.
    get_blob_store().put(f"projects/{pid}/features/cache.npz", b"features")
    get_blob_store().put(f"projects/{pid}/jobs/999/firmware.elf", b"firmware")
    assert _files(f"projects/{pid}/") >= 5
    gone = client.delete(f"/api/projects/{pid}", headers=h, params={"confirm_name": "Doomed"})
    assert gone.status_code == 204
    assert _files() == before
    if blob_backend == "local":  # no empty folder is left either
        assert not get_blob_store().path(f"projects/{pid}").exists()


@pytest.mark.parametrize("operation", ["crop", "split"])
def test_failed_crop_or_split_leaves_no_blob(client, make_project, operation: str) -> None:  # type: ignore[no-untyped-def]
    from backend.accounts.models import User
    from backend.core.db import get_sessionmaker
    from backend.datasets import editing, service
    from backend.datasets.models import Sample

    pid, people = make_project()
    sample_id = _sample(client, pid, people["owner"].headers)["id"]
    before = _files()
    with get_sessionmaker()() as db:
        sample = service.get(db=db, project_id=pid, sample_id=sample_id)
        user = db.get(User, people["owner"].id)
        # Someone else changes the sample meanwhile: this change fails once it is written.
        with get_sessionmaker()() as other:
            other.get(Sample, sample_id).name = "renamed meanwhile"
            other.commit()
        with pytest.raises((StaleDataError, OperationalError)):
            if operation == "crop":
                editing.crop(db=db, sample=sample, user=user, start_ms=0, end_ms=500, version=None)
            else:
                editing.split(db=db, sample=sample, user=user, window_ms=300, stride_ms=None)
            assert _files() > before
            db.commit()
    assert _files() == before


def test_failed_crop_keeps_blobs_other_rows_use_and_a_crop_drops_the_old_values(  # type: ignore[no-untyped-def]
    client, make_project
) -> None:
    pid, people = make_project()
    h = people["owner"].headers
    data = _csv(200, seed=None)
    first = _upload(client, pid, h, data, "a.csv").json()["files"][0]["sample"]
    twin = _upload(client, pid, h, data, "b.csv").json()["files"][0]["sample"]
    before = _files()
    cropped = client.post(
        f"/api/projects/{pid}/samples/{first['id']}/crop", headers=h,
        json={"start_ms": 0, "end_ms": 1000},
    )  # fmt: skip
    assert cropped.status_code == 200, cropped.text
    # The twin still uses the old values: they stay; the crop adds one blob.
    assert _files() == before + 1
    again = client.post(
        f"/api/projects/{pid}/samples/{twin['id']}/crop", headers=h,
        json={"start_ms": 0, "end_ms": 1000},
    )  # fmt: skip
    assert again.status_code == 200, again.text
    # Both now share the cropped values; nothing refers to the old ones any more.
    assert _files() == before
    plot = client.get(f"/api/projects/{pid}/samples/{twin['id']}/plot", headers=h)
    assert plot.status_code == 200, plot.text


@pytest.mark.parametrize("how", ["raises", "project deleted meanwhile"])
def test_failed_job_leaves_no_blob(  # type: ignore[no-untyped-def]
    blob_backend, make_project, db, how: str
) -> None:
    from backend.core.db import get_sessionmaker
    from backend.jobs.lifecycle import JobContext, run_job
    from backend.jobs.models import Artifact, Job
    from backend.projects import service as projects
    from backend.projects.models import Project

    pid, _ = make_project(name="Busy")
    job = Job(project_id=pid, kind="test.blobs", params={})
    db.add(job)
    db.commit()
    job_id = job.id
    before = _files()

    def training(ctx: JobContext) -> dict[str, Any]:
        ctx.put_artifact("model.keras", "model", b"weights" * 100)
        with get_blob_store().scratch_file(".tflite") as scratch:
            scratch.write_bytes(b"tflite")
            ctx.put_artifact("model.tflite", "model", scratch)
        if how == "raises":
            raise RuntimeError("quantization diverged")
        with get_sessionmaker()() as other:
            project = other.get(Project, pid)
            projects.delete(db=other, project=project, confirm_name="Busy")
            other.commit()
        ctx.put_artifact("report.json", "report", b"{}")
        return {}

    assert run_job(job_id, training) in ("failed", "cancelled")
    assert _files() == before
    db.expire_all()
    assert db.query(Artifact).filter_by(job_id=job_id).count() == 0


def test_project_ids_are_never_reused(client, make_project, make_person) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project(name="Last")
    h = people["owner"].headers
    gone = client.delete(f"/api/projects/{pid}", headers=h, params={"confirm_name": "Last"})
    assert gone.status_code == 204
    again = client.post("/api/projects", headers=h, json={"name": "Next"})
    assert again.status_code == 201, again.text
    assert again.json()["id"] > pid


@pytest.mark.skipif(POSTGRES, reason="PostgreSQL sequences never reuse ids")
def test_migration_keeps_every_row_and_stops_id_reuse(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from backend.core.migrate import alembic_config, downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    previous = ScriptDirectory.from_config(alembic_config()).get_revision("b2blobs").down_revision
    upgrade(url, str(previous))
    engine = create_engine(url)
    stamp = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=ON"))
        for project_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO projects (id, name, description, hmac_key, created_at, "
                    "updated_at) VALUES (:id, 'p', '', 'k', :t, :t)"
                ),
                {"id": project_id, "t": stamp},
            )
            conn.execute(
                text(
                    "INSERT INTO activity_events (project_id, action, details, created_at) "
                    "VALUES (:id, 'made', '{}', :t)"
                ),
                {"id": project_id, "t": stamp},
            )
    upgrade(url)
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=ON"))
        assert conn.execute(text("SELECT count(*) FROM activity_events")).scalar() == 2
        conn.execute(text("DELETE FROM projects WHERE id = 2"))
        conn.execute(
            text(
                "INSERT INTO projects (name, description, hmac_key, created_at, updated_at) "
                "VALUES ('new', '', 'k', :t, :t)"
            ),
            {"t": stamp},
        )
        assert conn.execute(text("SELECT max(id) FROM projects")).scalar() == 3
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    engine.dispose()
    downgrade(url, str(previous))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 2
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'projects'")).scalar()
        assert "AUTOINCREMENT" not in sql and "CONSTRAINT pk_projects PRIMARY KEY (id)" in sql
    engine.dispose()


def test_unwritable_store_answers_503(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    folder = get_blob_store().path(f"projects/{pid}")
    # Tests run as root, which ignores file modes: a file where the folder should be stops
    # every write below it, as a read-only or missing mount would.
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"")
    try:
        answer = _upload(client, pid, people["owner"].headers, _csv(20))
        assert answer.status_code == 503, answer.text
        detail = answer.json()["detail"]
        assert detail["code"] == "blob_store_unavailable"
        assert detail["message"].startswith(f"the blob store at {get_blob_store().root}")
        assert "cannot be written: Not a directory" in detail["message"]
        listed = client.get(f"/api/projects/{pid}/samples", headers=people["owner"].headers)
        assert listed.json()["total"] == 0
    finally:
        folder.unlink()


@pytest.fixture()
def tiny_project_disk(make_project) -> Iterator[tuple[int, Any]]:  # type: ignore[no-untyped-def]
    """A project whose blob folder is a 256 KiB tmpfs (needs root and mount)."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    pid, people = make_project()
    folder = get_blob_store().path(f"projects/{pid}")
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield pid, people
    finally:
        subprocess.run(["umount", str(folder)], check=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_full_store_answers_503_and_keeps_no_partial_blob(client, tiny_project_disk) -> None:  # type: ignore[no-untyped-def]
    pid, people = tiny_project_disk
    h = people["owner"].headers
    # Its values (96 KiB) fit, its original upload (about 280 KiB) does not.
    big = _upload(client, pid, h, _csv(8000, axes=3))
    assert big.status_code == 503, big.text
    assert "No space left on device" in big.json()["detail"]["message"]
    assert _files(f"projects/{pid}/") == 0
    sample = _sample(client, pid, h, rows=2000)
    stored = _files(f"projects/{pid}/")
    # Hundreds of parts of a page each fill the disk part way through.
    split = client.post(
        f"/api/projects/{pid}/samples/{sample['id']}/split", headers=h,
        json={"window_ms": 500, "stride_ms": 10},
    )  # fmt: skip
    assert split.status_code == 503, split.text
    assert split.json()["detail"]["code"] == "blob_store_unavailable"
    assert _files(f"projects/{pid}/") == stored
    assert client.get(f"/api/projects/{pid}/samples", headers=h).json()["total"] == 1


def _old_blob(key: str, data: bytes = b"left over", hours: float = 2) -> str:
    store = get_blob_store()
    if not store.exists(key):
        store.put(key, data)
    stamp = store.path(key).stat().st_mtime - hours * 3600
    os.utime(store.path(key), (stamp, stamp))
    return key


def test_collect_removes_old_blobs_no_row_refers_to(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.core import gc
    from backend.jobs.models import Artifact, Job

    pid, people = make_project()
    h = people["owner"].headers
    sample = _sample(client, pid, h)
    made = client.post(f"/api/projects/{pid}/dataset-versions", headers=h, json={"name": "v1"})
    assert made.status_code == 201, made.text
    # After the crop only the dataset version refers to the sample's first values.
    first_values = made.json()["entries"][0]["values_key"]
    _old_blob(first_values)
    cropped = client.post(
        f"/api/projects/{pid}/samples/{sample['id']}/crop", headers=h,
        json={"start_ms": 0, "end_ms": 500},
    )  # fmt: skip
    assert cropped.status_code == 200
    orphan = _old_blob(f"projects/{pid}/values/{uuid.uuid4().hex}.f32", b"x" * 1000)
    scratch = _old_blob(f".scratch/export-{uuid.uuid4().hex}.zip")
    part = _old_blob(f"projects/{pid}/originals/.tmp-{uuid.uuid4().hex}.part")
    young = f"projects/{pid}/originals/{uuid.uuid4().hex}.csv"
    get_blob_store().put(young, b"uploading")
    waiting = _old_blob(f"projects/{pid}/imports/{uuid.uuid4().hex}.zip")
    failed = _old_blob(f"projects/{pid}/jobs/0/{uuid.uuid4().hex}.bin")
    db.add(Job(project_id=pid, kind="dataset.import", params={"blob_key": waiting}))
    dead = Job(project_id=pid, kind="test.blobs", params={}, status="failed")
    db.add(dead)
    db.flush()
    db.add(
        Artifact(
            job_id=dead.id,
            project_id=pid,
            name="x.bin",
            kind="test",
            blob_key=failed,
            size_bytes=9,
            sha256="0" * 64,
            media_type="application/octet-stream",
        )
    )
    db.commit()
    doomed = {orphan, scratch, part, failed}
    kept = {young, waiting, first_values}
    before = _files()

    preview = gc.collect(db=db, store=get_blob_store(), dry_run=True)
    listed = {blob.key for blob in preview.removed}
    assert doomed <= listed and not kept & listed
    assert preview.dead_artifacts >= 1 and preview.too_young >= 1
    assert _files() == before
    lines = gc.describe(preview, dry_run=True)
    assert f"would remove {orphan} (1000 bytes)" in lines

    done = gc.collect(db=db, store=get_blob_store())
    assert doomed <= {blob.key for blob in done.removed}
    assert _files() == before - len(done.removed)
    store = get_blob_store()
    assert not any(store.exists(key) for key in doomed)
    assert all(store.exists(key) for key in kept)
    db.expire_all()
    assert db.query(Artifact).filter_by(job_id=dead.id).count() == 0
    # Every sample still reads.
    plot = client.get(f"/api/projects/{pid}/samples/{sample['id']}/plot", headers=h)
    assert plot.status_code == 200


def test_upkeep_collects_once_a_day() -> None:
    from backend.core import gc

    start = 10.0**9
    assert gc.collect_if_due(now=start) is not None
    assert gc.collect_if_due(now=start + 3600) is None
    assert gc.collect_if_due(now=start + gc.COLLECT_EVERY_SECONDS + 1) is not None


def test_job_that_cannot_write_its_artifact_says_why(make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.jobs.lifecycle import JobContext, run_job
    from backend.jobs.models import Job

    pid, _ = make_project()
    job = Job(project_id=pid, kind="test.blobs", params={})
    db.add(job)
    db.commit()
    jobs_folder = get_blob_store().path(f"projects/{pid}/jobs")
    jobs_folder.parent.mkdir(parents=True, exist_ok=True)
    jobs_folder.write_bytes(b"")

    def export(ctx: JobContext) -> dict[str, Any]:
        ctx.put_artifact("export.zip", "export", b"zip")
        return {}

    try:
        assert run_job(job.id, export) == "failed"
    finally:
        jobs_folder.unlink()
    db.refresh(job)
    assert job.error.startswith("the blob store at ") and job.error.endswith("Not a directory")
