"""The studio on many hosts with no shared filesystem: the API and two workers run as processes
of their own, each with an empty data and temp directory, sharing only PostgreSQL, Redis and an
S3 server. A project goes upload → train → firmware → on-device test → export → import, every
step through the API, and both workers run jobs.

It needs PostgreSQL and Redis (TINYSTUDIO_TEST_POSTGRES_URL / TINYSTUDIO_TEST_REDIS_URL, as CI
sets them); without them the studio cannot span processes and the test does not apply."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.live import Studio, make_owner, stop_process
from tests.s3server import S3Server, unique_url
from tests.services import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    create_postgres_database,
    drop_postgres_database,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "backend" / "datasets" / "demo_data" / "basic-motions"
SPEC = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "flatten", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 6, "seed": 2}}],
}

pytestmark = pytest.mark.skipif(
    not (POSTGRES_ADMIN_URL and REDIS_URL),
    reason="processes on many hosts share PostgreSQL and Redis (set TINYSTUDIO_TEST_POSTGRES_URL "
    "and TINYSTUDIO_TEST_REDIS_URL)",
)


def _broker_url() -> str:
    """A Redis database of its own: the tests' in-process workers consume from REDIS_URL's."""
    assert REDIS_URL is not None
    base, _, db = REDIS_URL.rpartition("/")
    return f"{base}/{(int(db or 0) + 1) % 16}" if db.isdigit() else f"{REDIS_URL.rstrip('/')}/1"


class Host:
    """One process with its own empty data directory and temp directory."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.home = Path(tempfile.mkdtemp(prefix=f"tinystudio-host-{name}-"))
        (self.home / "tmp").mkdir()
        self.log_path = self.home / "host.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
        own = {"TINYSTUDIO_DATA_DIR": str(self.home / "data"), "TMPDIR": str(self.home / "tmp")}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=clean | env | own, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture()
def shared_services(s3_server: S3Server) -> Iterator[dict[str, str]]:
    """What the hosts share: a fresh PostgreSQL database, a Redis database and an S3 folder."""
    import redis

    name = f"tinystudio_hosts_{uuid.uuid4().hex[:8]}"
    broker = _broker_url()
    redis.Redis.from_url(broker).flushdb()
    env = {
        "TINYSTUDIO_ENVIRONMENT": "test",
        "TINYSTUDIO_DATABASE_URL": create_postgres_database(name),
        "TINYSTUDIO_BROKER_URL": broker,
        "TINYSTUDIO_JOB_HEARTBEAT_SECONDS": "1",
        **s3_server.settings(unique_url()),
    }
    try:
        yield env
    finally:
        drop_postgres_database(name)
        redis.Redis.from_url(broker).flushdb()


def _wait(http: httpx.Client, pid: int, job_id: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/api/projects/{pid}/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            assert job["status"] == "succeeded", (job["kind"], job["error"])
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def _upload(http: httpx.Client, pid: int, count: int) -> None:
    for folder in ("training", "testing"):
        files = [
            ("files", (path.name, path.read_bytes(), "text/csv"))
            for label in ("walking", "standing", "running")
            for path in sorted((DEMO / folder).glob(f"{label}.*.csv"))[:count]
        ]
        answer = http.post(
            f"/api/projects/{pid}/samples/upload", files=files, data={"category": folder}
        )
        assert answer.status_code == 201, answer.text


def test_api_and_two_workers_share_only_the_database_the_broker_and_the_bucket(
    shared_services: dict[str, str],
) -> None:
    worker = [sys.executable, "-m", "backend.cli", "worker", "--concurrency", "1"]
    with ExitStack() as stack:
        api = stack.enter_context(Studio(env=shared_services))
        hosts = [Host(f"worker-{n}", worker, shared_services) for n in (1, 2)]
        for host in hosts:
            stack.callback(host.stop)
        owner = make_owner(api, "Many hosts")
        http = stack.enter_context(
            httpx.Client(base_url=api.base, headers=owner.headers, timeout=120)
        )
        pid = owner.project_id
        _upload(http, pid, count=3)

        # Two impulses trained at once: each worker takes one.
        runs = []
        for name in ("Motion A", "Motion B"):
            impulse = http.post(f"/api/projects/{pid}/impulses", json={"name": name, "spec": SPEC})
            assert impulse.status_code == 201, impulse.text
            run = http.post(f"/api/projects/{pid}/impulses/{impulse.json()['id']}/train", json={})
            assert run.status_code == 202, run.text
            runs.append(run.json())
        trained = [_wait(http, pid, run["job_id"]) for run in runs]

        deployment = http.post(
            f"/api/projects/{pid}/training-runs/{runs[0]['id']}/deployments",
            json={"target": "firmware", "board_id": "virtual-cortex-m4"},
        ).json()
        built = _wait(http, pid, deployment["job_id"])
        tested = http.post(f"/api/projects/{pid}/deployments/{deployment['id']}/device-test")
        assert tested.status_code == 202, tested.text
        on_device = _wait(http, pid, tested.json()["id"])["result"]
        assert on_device["windows"] > 0 and on_device["agreement"] == 1.0

        exported = _wait(http, pid, http.post(f"/api/projects/{pid}/dataset/export").json()["id"])
        (archive,) = exported["artifacts"]
        body = http.get(f"/api/projects/{pid}/artifacts/{archive['id']}/download")
        assert body.status_code == 200 and body.content[:2] == b"PK"
        other = http.post("/api/projects", json={"name": "Imported"}).json()["id"]
        started = http.post(
            f"/api/projects/{other}/dataset/import",
            files={"file": ("dataset.zip", body.content, "application/zip")},
        )
        assert started.status_code == 202, started.text
        imported = _wait(http, other, started.json()["id"])
        samples = http.get(f"/api/projects/{other}/samples", params={"limit": 100}).json()
        count = len(samples["items"] if isinstance(samples, dict) else samples)
        assert count == 18, imported["result"]

        # Both worker processes took jobs (each logs every task it receives).
        took = {host.name: host.log().count("] received") for host in hosts}
        assert all(took.values()), took
        assert all(job["worker"] for job in [*trained, built, exported, imported])
        assert api.server_errors() == 0, api.log()[-3000:]
        # Nothing was kept in a host's own directory: every file is in the bucket.
        for host in hosts:
            blobs = host.home / "data" / "blobs"
            assert not blobs.exists() or not any(blobs.rglob("*")), host.name
