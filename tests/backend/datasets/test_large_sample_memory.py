"""A 120 MB sample read through a real API process (values, original, plot, audio, export)
keeps that process's peak memory bounded."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

ROWS = 30 * 1024 * 1024  # float32, one axis: a 120 MiB values blob
PEAK_LIMIT_MB = 300
ROOT = Path(__file__).resolve().parents[3]

# Runs in its own process against the private data directory: migrate, then store the sample
# through the service layer as an upload of a 16 kHz 16-bit WAV would.
_SETUP = """
import hashlib, io, json, sys, wave
import numpy as np
from backend.accounts import service as accounts
from backend.core.db import get_sessionmaker
from backend.core.migrate import upgrade
from backend.datasets import service
from backend.datasets.formats import ParsedSample
from backend.projects import service as projects

upgrade()
pcm = np.random.default_rng(7).integers(-32768, 32768, int(sys.argv[1]), dtype=np.int16)
original = io.BytesIO()
with wave.open(original, "wb") as wav:
    wav.setnchannels(1)
    wav.setsampwidth(2)
    wav.setframerate(16000)
    wav.writeframes(pcm.tobytes())
data = original.getvalue()
parsed = ParsedSample(
    values=pcm.astype(np.float32).reshape(-1, 1), sensors=[("audio", "wav")],
    interval_ms=1000 / 16000, format="wav", original_bytes=data,
    sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
)
with get_sessionmaker()() as db:
    user = accounts.create_user(
        db=db, username="big", email="big@example.com", password="Large-sample-1"
    )
    _, token = accounts.create_token(db=db, user=user, name="memory", expires_in_days=1)
    project = projects.create(db=db, owner=user, name="Large", description="")
    sample = service.store_parsed(
        db=db, project=project, filename="long.wav", parsed=parsed,
        options=service.UploadOptions(label="long"), user=user,
    )
    db.commit()
    print(json.dumps({"token": token, "project_id": project.id, "sample_id": sample.id,
                      "sha256": parsed.sha256, "sum": float(pcm.astype(np.int64).sum())}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mb(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def _reset_peak(pid: int) -> None:
    """Starts VmHWM afresh, so start-up (migrations, imports) does not hide what reads cost."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture()
def private_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a studio of its own: SQLite database, broker and blobs in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
    return env | {"TINYSTUDIO_ENVIRONMENT": "test", "TINYSTUDIO_DATA_DIR": str(tmp_path)}


@pytest.fixture()
def large_sample(private_env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-c", _SETUP, str(ROWS)],
        env=private_env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture()
def studio(private_env: dict[str, str], large_sample: dict) -> Iterator[tuple[str, int, int]]:  # type: ignore[type-arg]
    """(base URL, API process id, worker process id): `up --no-worker` and a solo-pool worker."""
    port = _free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "up", "--no-worker", "--port", str(port)],
        env=private_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker", "-Q", "light", "--pool", "solo",
         "--loglevel", "WARNING"],
        env=private_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert api.poll() is None, "the API process exited early"
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        yield base, api.pid, worker.pid
    finally:
        _stop(api)
        _stop(worker)


def _values_sum(http: httpx.Client, url: str) -> tuple[float, int, int]:
    """Sum and count of every value, read page after page; and the number of pages."""
    total, rows, pages, start = 0.0, 0, 0, 0
    while start is not None:
        head, values = http.get(url, params={"start": start}).content.split(b', "values": [')
        page = json.loads(head + b"}")
        # numpy reads the numbers several times faster than json would build the rows.
        numbers = values[:-2].replace(b"[", b"").replace(b"]", b"").split(b",")
        total += float(np.array(numbers, dtype=np.float64).sum())
        rows += page["count"]
        pages += 1
        start = page["next_start"]
    return total, rows, pages


def test_large_sample_reads_keep_the_api_process_small(
    studio: tuple[str, int, int],
    large_sample: dict,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    base, api_pid, worker_pid = studio
    pid, sid = large_sample["project_id"], large_sample["sample_id"]
    sample_url = f"/api/projects/{pid}/samples/{sid}"
    headers = {"Authorization": f"Bearer {large_sample['token']}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        assert http.get(sample_url).json()["length"] == ROWS
        for process in (api_pid, worker_pid):
            _reset_peak(process)
        idle_mb = _memory_mb(api_pid, "VmRSS")
        started = time.monotonic()

        total, rows, pages = _values_sum(http, f"{sample_url}/values")
        assert rows == ROWS and total == large_sample["sum"] and pages > 1

        digest = hashlib.sha256()
        with http.stream("GET", f"{sample_url}/original") as original:
            assert original.status_code == 200
            for chunk in original.iter_bytes():
                digest.update(chunk)
        assert digest.hexdigest() == large_sample["sha256"]

        plot = http.get(f"{sample_url}/plot", params={"max_points": 3000}).json()
        assert plot["downsampled"] and 0 < len(plot["t_ms"]) <= 3000

        with http.stream("GET", f"{sample_url}/audio") as audio:
            assert sum(len(chunk) for chunk in audio.iter_bytes()) == 44 + 2 * ROWS

        job = http.post(f"/api/projects/{pid}/dataset/export").json()
        deadline = time.monotonic() + 120
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, "the export did not finish"
            time.sleep(0.5)
            job = http.get(f"/api/projects/{pid}/jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        archive = tmp_path / "export.zip"
        artifact = job["artifacts"][0]["id"]
        download = f"/api/projects/{pid}/artifacts/{artifact}/download"
        with http.stream("GET", download) as answer, archive.open("wb") as out:
            for chunk in answer.iter_bytes():
                out.write(chunk)
        with zipfile.ZipFile(archive) as exported:
            entry = next(n for n in exported.namelist() if n.startswith("samples/"))
            with exported.open(entry) as document:
                assert document.read(100).startswith(b'{"protected"')
        elapsed = time.monotonic() - started

    api_mb, worker_mb = _memory_mb(api_pid, "VmHWM"), _memory_mb(worker_pid, "VmHWM")
    print(
        f"\n120 MiB sample, {pages} pages of values, all reads and an export in {elapsed:.1f} s: "
        f"API process peak RSS {api_mb:.0f} MB (before the reads {idle_mb:.0f} MB), "
        f"export worker peak RSS {worker_mb:.0f} MB"
    )
    assert api_mb < PEAK_LIMIT_MB
    assert worker_mb < PEAK_LIMIT_MB
