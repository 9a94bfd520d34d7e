"""Reliability of a live studio: fuzzing, races, orphan blobs after faults, memory while reading.

Starts real studios (`tinystudio up`, embedded SQLite, private data directories) and measures:
- schemathesis over every route as a project owner: operations fuzzed, failed checks, 5xx answers;
- races: the same request from several threads at once, counting the answers by status;
- orphan blobs (files no row refers to, as `tinystudio admin gc --dry-run` counts them) after a
  dataset import that fails and after a project is deleted;
- the API process's peak resident memory (VmHWM) while the largest sample is read every way.
Prints a table and writes benchmarks/results/reliability.json. Takes a few minutes.

    .venv/bin/python -m benchmarks.reliability [--max-examples 25] [--audio-minutes 10]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import threading
import wave
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.live import DEMO, MOTION, ROOT, Studio, fuzz, make_owner, make_person, seed


def race(studio: Studio, threads: int, call: Callable[[httpx.Client, int], httpx.Response]) -> str:
    """`call` from `threads` threads released together; the answers counted by status."""
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def run(n: int) -> None:
        with httpx.Client(base_url=studio.base, timeout=120) as http:
            barrier.wait()
            statuses.append(call(http, n).status_code)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return ", ".join(f"{count}× {status}" for status, count in sorted(Counter(statuses).items()))


def races(studio: Studio) -> list[dict[str, Any]]:
    owner = make_owner(studio, "Races")
    base = f"/api/projects/{owner.project_id}"
    impulse = studio.http.post(
        f"{base}/impulses", json={"name": "raced", "spec": MOTION}, headers=owner.headers
    ).json()
    key = studio.http.post(f"{base}/api-keys", json={"name": "r"}, headers=owner.headers).json()
    invitee = make_person(studio)
    invitation = studio.http.post(
        f"{base}/invitations", json={"invitee": invitee.username}, headers=owner.headers
    ).json()
    sample = sorted((DEMO / "training").glob("walking.*.csv"))[0]
    name = "same-name"
    cases: list[tuple[str, int, Callable[[httpx.Client, int], httpx.Response]]] = [
        (
            "save one impulse version",
            8,
            lambda http, _n: http.put(
                f"{base}/impulses/{impulse['id']}",
                json={"spec": MOTION, "base_version": impulse["version"]},
                headers=owner.headers,
            ),
        ),
        (
            "sign up with one name",
            8,
            lambda http, n: http.post(
                "/api/auth/register",
                json={
                    "username": name,
                    "email": f"{name}{n}@example.com",
                    "password": "Sturdy-race-9147",
                },
            ),
        ),
        (
            "upload one file, disallow duplicates",
            4,
            lambda http, _n: http.post(
                "/api/training/files",
                files=[("data", (sample.name, sample.read_bytes(), "text/csv"))],
                headers={"x-api-key": key["key"], "x-disallow-duplicates": "1"},
            ),
        ),
        (
            "accept and decline one invitation",
            2,
            lambda http, n: http.post(
                f"/api/invitations/{invitation['id']}/{('accept', 'decline')[n]}",
                headers=invitee.headers,
            ),
        ),
    ]
    return [
        {"race": what, "threads": threads, "answers": race(studio, threads, call)}
        for what, threads, call in cases
    ]


def orphan_blobs(studio: Studio) -> int:
    """Blobs no row refers to, however young, as the collector would count them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
    env["TINYSTUDIO_DATA_DIR"] = str(studio.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "admin", "gc", "--dry-run", "--grace-hours", "0"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"would remove: (\d+) blobs", done.stdout)
    return int(found.group(1)) if found else -1


def wait_job(studio: Studio, headers: dict[str, str], project_id: int, job_id: int) -> str:
    for _ in range(600):
        job = studio.http.get(f"/api/projects/{project_id}/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return str(job["status"])
        threading.Event().wait(0.2)
    return "timed out"


def faults(studio: Studio) -> list[dict[str, Any]]:
    owner = make_owner(studio, "Faults")
    base = f"/api/projects/{owner.project_id}"
    rows = [{"scenario": "before any fault", "orphan_blobs": orphan_blobs(studio)}]
    # A dataset zip whose first file is good and whose second is not: the import fails midway.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((DEMO / "training").glob("walking.*.csv"))[:3]:
            zipped.writestr(f"training/{path.name}", path.read_bytes())
        zipped.writestr("training/broken.walking.csv", b"timestamp,accX\n0,not-a-number\n")
    started = studio.http.post(
        f"{base}/dataset/import",
        files=[("file", ("broken.zip", archive.getvalue(), "application/zip"))],
        headers=owner.headers,
    )
    outcome = started.status_code
    if started.status_code == 202:
        outcome = wait_job(studio, owner.headers, owner.project_id, started.json()["id"])
    rows.append({"scenario": f"failed import ({outcome})", "orphan_blobs": orphan_blobs(studio)})
    doomed = make_owner(studio, "Doomed")
    files = [
        ("files", (p.name, p.read_bytes(), "text/csv"))
        for p in sorted((DEMO / "training").glob("*.csv"))[:20]
    ]
    studio.http.post(
        f"/api/projects/{doomed.project_id}/samples/upload",
        files=files, data={"category": "training"}, headers=doomed.headers,
    )  # fmt: skip
    deleted = studio.http.delete(
        f"/api/projects/{doomed.project_id}", params={"confirm_name": "Doomed"},
        headers=doomed.headers,
    )  # fmt: skip
    rows.append(
        {
            "scenario": f"deleted project ({deleted.status_code})",
            "orphan_blobs": orphan_blobs(studio),
        }
    )
    return rows


def peak_memory(studio: Studio, minutes: float) -> dict[str, Any]:
    """VmHWM of the API process while the largest sample is read through every route."""
    owner = make_owner(studio, "Memory")
    base = f"/api/projects/{owner.project_id}"
    frames = int(16000 * 60 * minutes)
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        rng = np.random.default_rng(3)
        handle.writeframes(rng.integers(-8000, 8000, frames).astype("<i2").tobytes())
    upload = studio.http.post(
        f"{base}/samples/upload", files=[("files", ("long.wav", out.getvalue(), "audio/wav"))],
        data={"category": "training"}, headers=owner.headers,
    )  # fmt: skip
    sample_id = upload.json()["files"][0]["sample"]["id"]
    status = Path(f"/proc/{studio.process.pid}/status")

    def kib(field: str) -> int:
        return int(re.search(rf"{field}:\s+(\d+) kB", status.read_text()).group(1))  # type: ignore[union-attr]

    # Writing 5 resets the peak to the current size, so the peak below is the reading's alone.
    Path(f"/proc/{studio.process.pid}/clear_refs").write_text("5")
    before = kib("VmRSS")
    url = f"{base}/samples/{sample_id}"
    studio.http.get(f"{url}/plot", headers=owner.headers).raise_for_status()
    studio.http.get(f"{url}/audio", headers=owner.headers).raise_for_status()
    studio.http.get(f"{url}/original", headers=owner.headers).raise_for_status()
    start: int | None = 0
    while start is not None:
        page = studio.http.get(f"{url}/values", params={"start": start}, headers=owner.headers)
        page.raise_for_status()
        start = page.json().get("next_start")
    return {
        "sample_values": frames,
        "wav_mb": round(len(out.getvalue()) / 1e6, 1),
        "rss_before_mb": round(before / 1024, 1),
        "peak_rss_mb": round(kib("VmHWM") / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="schemathesis, per route")
    parser.add_argument("--audio-minutes", type=float, default=10.0, help="largest sample")
    args = parser.parse_args()
    with Studio() as studio:
        owner = make_owner(studio)
        run = fuzz(studio, owner, seed(studio, owner), max_examples=args.max_examples)
        failures = re.search(r"(\d+) failures?", run.output)
        fuzzing = {
            "operations": run.operations,
            "max_examples": args.max_examples,
            "failed_checks": int(failures.group(1)) if failures else 0,
            "server_errors": run.server_errors,
        }
        memory = peak_memory(studio, args.audio_minutes)
        race_rows = races(studio)
    with Studio(worker=True) as studio:
        fault_rows = faults(studio)

    print(f"{'schemathesis':<40} {'operations':>10} {'failed checks':>14} {'5xx':>5}")
    print(
        f"{'max ' + str(args.max_examples) + ' examples per route':<40} "
        f"{fuzzing['operations']:>10} {fuzzing['failed_checks']:>14} {fuzzing['server_errors']:>5}"
    )
    print(f"\n{'race':<40} {'threads':>7}  answers")
    for row in race_rows:
        print(f"{row['race']:<40} {row['threads']:>7}  {row['answers']}")
    print(f"\n{'fault scenario':<40} {'orphan blobs':>12}")
    for row in fault_rows:
        print(f"{row['scenario']:<40} {row['orphan_blobs']:>12}")
    print(
        f"\nreading a {memory['wav_mb']} MB sample ({memory['sample_values']} values): API RSS "
        f"{memory['rss_before_mb']} MB before, peak {memory['peak_rss_mb']} MB"
    )
    out = ROOT / "benchmarks" / "results" / "reliability.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {"fuzzing": fuzzing, "races": race_rows, "faults": fault_rows, "memory": memory}
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 0 if fuzzing["server_errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
