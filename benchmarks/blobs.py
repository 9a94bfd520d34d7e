"""The blob store's cost: the same work through the HTTP API of a real studio with its blobs in
the local directory and in an S3 bucket (moto's S3-compatible server in its own process).

Per store, after an untimed warm-up (one training and one firmware build in a project of their
own): upload 100 small samples (3 axes, 4 s at 50 Hz), upload one 50 MB WAV and download
its original back, train a small impulse, train it again (the features come from the blob
store, so the second run shows the workers' cache), and build firmware for the virtual
Cortex-M4 (built and measured in QEMU). Each store runs --repeats times, alternating, each time
in a fresh studio; the best time of each step counts. Prints each step's seconds, the S3/local
ratio and the cache's hits and misses per job (from the jobs' logs); writes
benchmarks/results/blobs.json. The S3 server is the tests' (tests/s3server.py).

    .venv/bin/python -m benchmarks.blobs [--repeats 2]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.live import Studio, make_person
from tests.s3server import S3Server, start_s3_server, unique_url

ROOT = Path(__file__).resolve().parents[1]
SPEC = {
    "input": {"window_ms": 2000, "stride_ms": 1000, "frequency_hz": 50, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 10, "seed": 3}}],
}
LABELS = {"idle": 0.5, "wave": 2.0, "shake": 6.0}  # a sine of this many Hz on every axis
WAV_SECONDS = 26 * 60 + 13  # 16 kHz, 16-bit mono: 50.3 MB
CACHE_LINE = re.compile(r"blob cache: (\d+) hits, (\d+) misses, (\d+) bytes downloaded")


def sample_csvs(count: int, rng: np.random.Generator) -> list[tuple[str, bytes, str]]:
    """`count` CSV samples of 3 axes, 4 s at 50 Hz, cycling over the labels."""
    files = []
    t = np.arange(200) / 50.0
    for n in range(count):
        label, hz = list(LABELS.items())[n % len(LABELS)]
        axes = np.stack([np.sin(2 * np.pi * hz * t + k) for k in range(3)], axis=1)
        axes += rng.normal(scale=0.1, size=axes.shape)
        lines = ["timestamp,accX,accY,accZ"] + [
            f"{i * 20},{r[0]:.5f},{r[1]:.5f},{r[2]:.5f}" for i, r in enumerate(axes)
        ]
        files.append((f"{label}.{n}.csv", ("\n".join(lines) + "\n").encode(), "text/csv"))
    return files


def long_wav(rng: np.random.Generator) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(rng.integers(-8000, 8000, 16000 * WAV_SECONDS).astype("<i2").tobytes())
    return out.getvalue()


class BlobStudio(Studio):
    """`tinystudio up` (API and one worker process) keeping its blobs as `blob_env` says, with
    a new user's token on its client."""

    def __init__(self, blob_env: dict[str, str]) -> None:
        super().__init__(worker=True, env={**blob_env, "TINYSTUDIO_WORKER_CONCURRENCY": "1"})
        self.http.timeout = httpx.Timeout(900)
        self.http.headers.update(make_person(self).headers)

    def post(self, path: str, **kwargs: Any) -> Any:
        answer = self.http.post(path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def wait(self, pid: int, job_id: int) -> dict[str, Any]:
        while True:
            job: dict[str, Any] = self.http.get(f"/api/projects/{pid}/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)  # steps of about a second: poll finely
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job_id} ({job['kind']}) {job['status']}: {job['error']}")
        log = self.http.get(f"/api/projects/{pid}/jobs/{job_id}/log").json()["log"]
        found = CACHE_LINE.search(log)
        job["cache"] = (
            None
            if found is None
            else dict(zip(("hits", "misses", "bytes"), map(int, found.groups()), strict=True))
        )
        return job


def warm_up(studio: Studio, files: list[Any]) -> None:
    """One untimed training and firmware build in a project of its own, so no timed step pays
    for the worker's first TensorFlow and toolchain runs."""
    pid = studio.post("/api/projects", json={"name": "Warm-up"})["id"]
    studio.post(f"/api/projects/{pid}/samples/upload", files=[("files", f) for f in files])
    impulse = studio.post(f"/api/projects/{pid}/impulses", json={"name": "w", "spec": SPEC})
    run = studio.post(f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={})
    studio.wait(pid, run["job_id"])
    deployment = studio.post(
        f"/api/projects/{pid}/training-runs/{run['id']}/deployments",
        json={"target": "firmware", "board_id": "virtual-cortex-m4"},
    )
    studio.wait(pid, deployment["job_id"])


def run(blob_env: dict[str, str], files: list[Any], wav: bytes) -> dict[str, Any]:
    studio = BlobStudio(blob_env)
    seconds: dict[str, float] = {}
    cache: dict[str, Any] = {}

    def timed(step: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        seconds[step] = round(time.perf_counter() - started, 3)
        return result

    try:
        warm_up(studio, files[:12])
        pid = studio.post("/api/projects", json={"name": "Motion"})["id"]
        audio = studio.post("/api/projects", json={"name": "Audio"})["id"]

        def upload_samples() -> None:
            for start in range(0, len(files), 20):
                batch = [("files", f) for f in files[start : start + 20]]
                studio.post(f"/api/projects/{pid}/samples/upload", files=batch)

        timed("upload 100 samples", upload_samples)
        wav_sample = timed(
            "upload 50 MB WAV",
            lambda: studio.post(
                f"/api/projects/{audio}/samples/upload",
                files=[("files", ("long.wav", wav, "audio/wav"))],
                data={"category": "training"},
            ),  # fmt: skip
        )["files"][0]["sample"]
        original = timed(
            "download 50 MB original",
            lambda: studio.http.get(f"/api/projects/{audio}/samples/{wav_sample['id']}/original"),
        )
        assert original.content == wav, "the original came back different"
        impulse = studio.post(f"/api/projects/{pid}/impulses", json={"name": "m", "spec": SPEC})

        def train() -> dict[str, Any]:
            started = studio.post(f"/api/projects/{pid}/impulses/{impulse['id']}/train", json={})
            job = studio.wait(pid, started["job_id"])
            return {"run": started, "job": job}

        first = timed("train", train)
        cache["train"] = first["job"]["cache"]
        second = timed("train again (features stored)", train)
        cache["train again"] = second["job"]["cache"]
        accuracy = second["job"]["result"]["evaluation"]["int8"]["test"]["accuracy"]

        def deploy() -> dict[str, Any]:
            deployment = studio.post(
                f"/api/projects/{pid}/training-runs/{second['run']['id']}/deployments",
                json={"target": "firmware", "board_id": "virtual-cortex-m4"},
            )
            return studio.wait(pid, deployment["job_id"])

        cache["deploy"] = timed("deploy firmware (virtual Cortex-M4)", deploy)["cache"]
    finally:
        studio.close()
    return {"seconds": seconds, "cache": cache, "int8_test_accuracy": accuracy}


def s3_env(server: S3Server) -> dict[str, str]:
    return {
        "TINYSTUDIO_BLOB_URL": unique_url(),
        "TINYSTUDIO_BLOB_S3_ENDPOINT_URL": server.url,
        "TINYSTUDIO_BLOB_S3_REGION": "us-east-1",
        "TINYSTUDIO_BLOB_S3_ACCESS_KEY_ID": server.access_key_id,
        "TINYSTUDIO_BLOB_S3_SECRET_ACCESS_KEY": server.secret_access_key,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per store (best counts)")
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    files = sample_csvs(100, rng)
    wav = long_wav(rng)
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "s3": []}
    server = start_s3_server()
    try:
        for _ in range(args.repeats):  # alternated, so both stores see the machine alike
            runs["local"].append(run({}, files, wav))
            runs["s3"].append(run(s3_env(server), files, wav))
    finally:
        server.stop()
    best = {
        store: {step: min(r["seconds"][step] for r in done) for step in done[0]["seconds"]}
        for store, done in runs.items()
    }
    s3 = runs["s3"][-1]
    rows = [
        {
            "step": step,
            "local_s": best["local"][step],
            "s3_s": best["s3"][step],
            "s3_over_local": round(best["s3"][step] / best["local"][step], 2),
        }
        for step in best["local"]
    ]
    print(f"best of {args.repeats} runs per store")
    print(f"{'step':<38} {'local s':>9} {'S3 s':>9} {'S3/local':>9}")
    for row in rows:
        print(
            f"{row['step']:<38} {row['local_s']:>9.2f} {row['s3_s']:>9.2f} "
            f"{row['s3_over_local']:>9.2f}"
        )
    print("\nworkers' blob cache on S3 (the local store needs none):")
    for job, used in s3["cache"].items():
        if used is None:
            print(f"  {job:<12} no reads through the cache")
            continue
        reads = used["hits"] + used["misses"]
        print(
            f"  {job:<12} {used['hits']} hits, {used['misses']} misses "
            f"(hit rate {used['hits'] / reads:.2f}), {used['bytes']} bytes downloaded"
        )
    out = ROOT / "benchmarks" / "results" / "blobs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "s3_server": "moto (python -m moto.server) on 127.0.0.1",
                "wav_bytes": len(wav),
                "repeats": args.repeats,
                "steps": rows,
                "runs": runs,
                "cache_s3": s3["cache"],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
