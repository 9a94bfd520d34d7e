"""The `tinystudio` command as people run it: up (API + worker + browser app), admin, db."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from click.testing import CliRunner

from backend.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_up_serves_runs_jobs_and_stops_with_its_worker(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ)
    # A file, not a pipe: the API and its worker log for as long as they run, and a pipe
    # nobody reads any more fills up and blocks whichever of them writes next.
    log_path = tmp_path / "up.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "up", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while base not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert base in log_path.read_text(), log_path.read_text()
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(100):
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            page = http.get("/")
            assert page.status_code == 200 and "TinyStudio" in page.text
            name = f"up-{uuid.uuid4().hex[:6]}"
            reg = http.post(
                "/api/auth/register",
                json={
                    "username": name,
                    "email": f"{name}@example.com",
                    "password": "Up-and-running-1",
                },
            )
            csrf = {"x-csrf-token": reg.json()["csrf_token"]}
            pid = http.post("/api/projects", json={"name": "Up"}, headers=csrf).json()["id"]
            job = http.post(f"/api/projects/{pid}/export", headers=csrf).json()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job = http.get(f"/api/projects/{pid}/jobs/{job['id']}").json()
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            assert job["status"] == "succeeded", (job, log_path.read_text()[-4000:])
        workers = _children(process.pid)
        assert workers, "up started no worker process"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        time.sleep(0.5)
        assert not [w for w in workers if _alive(w)], "the worker outlived tinystudio up"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _tree(pid: int) -> list[int]:
    """`pid`'s descendants, children first."""
    found = []
    for child in _children(pid) if _alive(pid) else []:
        found += [child, *_tree(child)]
    return found


def test_up_killed_leaves_no_worker_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "_BROKER_URL"))}
    env["TINYSTUDIO_WORKER_CONCURRENCY"] = "2"
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "up", "--port", str(_free_port()),
         "--data-dir", str(tmp_path / "data")],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    tree: list[int] = []
    try:
        deadline = time.monotonic() + 90
        workers: list[int] = []
        pool: list[int] = []
        # Wait for the worker and both of its pool processes.
        while len(pool) < 2 and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "up.log").read_text()
            workers = _children(process.pid)
            pool = [p for worker in workers for p in _children(worker)]
            time.sleep(0.5)
        assert workers and len(pool) >= 2, (tmp_path / "up.log").read_text()
        tree = _tree(process.pid)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [p for p in tree if _alive(p)]
        assert not left, f"processes outlived a killed tinystudio up: {left}"
    finally:
        tree += _tree(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in [p for p in tree if _alive(p)]:  # never leave a stray worker behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_admin_create_user_and_bad_input(db) -> None:  # type: ignore[no-untyped-def]
    from backend.accounts.models import User

    name = f"root-{uuid.uuid4().hex[:6]}"
    runner = CliRunner()
    ok = runner.invoke(
        main,
        ["admin", "create-user", "--username", name, "--email", f"{name}@example.com",
         "--password", "Admin-of-the-studio-1"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert db.query(User).filter_by(username=name).one().is_admin
    weak = runner.invoke(
        main,
        ["admin", "create-user", "--username", name + "x", "--email", f"x{name}@example.com",
         "--password", "short"],
    )  # fmt: skip
    assert weak.exit_code != 0 and "password" in weak.output
    taken = runner.invoke(
        main,
        ["admin", "create-user", "--username", name, "--email", f"y{name}@example.com",
         "--password", "Admin-of-the-studio-2"],
    )  # fmt: skip
    assert taken.exit_code != 0 and "already taken" in taken.output


def test_db_upgrade_on_fresh_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TINYSTUDIO_DATABASE_URL"}
    env["TINYSTUDIO_DATA_DIR"] = str(tmp_path / "fresh")
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "db", "upgrade"], env=env, capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "tinystudio.sqlite").exists()


def test_refuses_default_secret_in_production(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TINYSTUDIO_ENVIRONMENT": "production",
        "TINYSTUDIO_DATA_DIR": str(tmp_path),
    }
    env.pop("TINYSTUDIO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "db", "upgrade"], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "TINYSTUDIO_SECRET_KEY" in result.stderr


def test_admin_gc_dry_run_lists_then_removes_old_unreferenced_blobs(db) -> None:  # type: ignore[no-untyped-def]
    from backend.core.blobs import get_blob_store

    store = get_blob_store()
    orphan = f"projects/0/values/{uuid.uuid4().hex}.f32"
    young = f"projects/0/values/{uuid.uuid4().hex}.f32"
    store.put(orphan, b"x" * 123)
    store.put(young, b"y")
    stamp = time.time() - 3 * 3600
    os.utime(store.path(orphan), (stamp, stamp))
    runner = CliRunner()
    preview = runner.invoke(main, ["admin", "gc", "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert f"would remove {orphan} (123 bytes)" in preview.output
    assert young not in preview.output and "would remove:" in preview.output
    assert store.exists(orphan)
    removed = runner.invoke(main, ["admin", "gc", "--grace-hours", "2"])
    assert removed.exit_code == 0, removed.output
    assert f"removed {orphan} (123 bytes)" in removed.output
    assert not store.exists(orphan) and store.exists(young)
    store.delete(young)


def test_admin_migrate_blobs_copies_checks_skips_and_lists_differences(  # type: ignore[no-untyped-def]
    s3_server, tmp_path: Path
) -> None:
    import hashlib

    from backend.core.blobs import LocalBlobStore
    from tests.s3server import BUCKET, studio_blobs, unique_url

    local = LocalBlobStore(tmp_path / "blobs")
    values = os.urandom(4000)
    blobs = {
        f"projects/1/values/{hashlib.sha256(values).hexdigest()}.f32": values,
        "projects/1/jobs/3/firmware.elf": os.urandom(6 * 1024 * 1024),  # above one part
        "projects/2/originals/empty.csv": b"",
    }
    for key, data in blobs.items():
        local.put(key, data)
    with local.scratch_file(".zip") as scratch:  # a job's unfinished file is not a blob
        scratch.write_bytes(b"half")
        url = unique_url()
        argv = ["admin", "migrate-blobs", "--to", url, "--from", str(local.root)]
        runner = CliRunner()
        parts = {"TINYSTUDIO_BLOB_S3_MULTIPART_BYTES": str(5 * 1024 * 1024)}
        with studio_blobs(s3_server.settings("s3://unused-bucket", **parts), tmp_path / "cache"):
            first = runner.invoke(main, argv)
            assert first.exit_code == 0, first.output
            assert (
                "3 copied (6295456 bytes), 0 already there, 0 missing or differing" in first.output
            )
            again = runner.invoke(main, argv)
            assert "0 copied (0 bytes), 3 already there" in again.output and again.exit_code == 0

            prefix = url.removeprefix(f"s3://{BUCKET}/")
            raw = s3_server.client()
            listed = raw.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")["Contents"]
            assert {item["Key"].removeprefix(f"{prefix}/") for item in listed} == set(blobs)
            raw.put_object(Bucket=BUCKET, Key=f"{prefix}/projects/1/jobs/3/firmware.elf", Body=b"x")
            checked = runner.invoke(main, [*argv, "--verify-only"])
            assert checked.exit_code == 1
            assert "differs: projects/1/jobs/3/firmware.elf" in checked.output
            assert "0 copied (0 bytes), 0 already there, 1 missing or differing" in checked.output
            mended = runner.invoke(main, argv)
            assert mended.exit_code == 0 and "1 copied (6291456 bytes), 2 already there" in (
                mended.output
            )

            missing = runner.invoke(main, [*argv[:2], "--to", "s3://no-such-bucket", *argv[4:]])
            assert missing.exit_code == 1
            assert "the bucket 'no-such-bucket' does not exist" in missing.output


def test_workers_on_a_real_broker_send_the_events_flower_lists_them_by() -> None:
    from backend.cli import monitoring_flags

    assert monitoring_flags("redis://broker:6379/0") == ["--task-events"]
    assert monitoring_flags("amqp://guest@rabbit//") == ["--task-events"]
    # The embedded broker is a SQLite file: no event or heartbeat writes there.
    assert monitoring_flags("sqla+sqlite:////data/broker.sqlite") == ["--without-heartbeat"]
