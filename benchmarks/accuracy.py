"""The issue's accuracy checks, done as a user would: through the HTTP API of a real studio.

Starts `tinystudio up` (API + worker, embedded defaults) in a fresh data directory and runs:
  1. BasicMotions: spectral analysis + 1D-CNN classifier, int8 test accuracy (target >= 0.95,
     int8 within 1 point of float);
  2. keyword spotting (a folder made by ../shared/tools/make-kws-dataset OUT 100): MFCC + 2D-CNN,
     int8 test accuracy (target >= 0.90);
  3. BasicMotions anomaly detection trained on "standing" only: AUC of the other activities
     (target >= 0.9).
Prints a table and writes benchmarks/results/accuracy.json.

    .venv/bin/python benchmarks/accuracy.py [--kws /tmp/kws]   (without --kws, step 2 is skipped)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "backend" / "datasets" / "demo_data" / "basic-motions"

MOTION = {
    "input": {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-conv1d", "params": {}}],
}
KWS = {
    "input": {"window_ms": 1000, "stride_ms": 1000, "frequency_hz": 16000, "zero_pad": True},
    "dsp": [{"block": "mfcc", "params": {}}],
    "learn": [{"block": "classifier-conv2d", "params": {}}],
}
ANOMALY = {
    "input": {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "anomaly-kmeans", "params": {"clusters": 8}}],
}


class Studio:
    """A running studio and an HTTP client logged in to it."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.data_dir = Path(tempfile.mkdtemp(prefix="tinystudio-accuracy-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
        env["TINYSTUDIO_WORKER_CONCURRENCY"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "up", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=600)
        for _ in range(300):
            try:
                if self.http.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = self.http.post(
            "/api/auth/register",
            json={"username": "measure", "email": "m@example.com", "password": "Accuracy-check-42"},
        )
        self.http.headers["x-csrf-token"] = answer.json()["csrf_token"]

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=60)

    def project(self, name: str) -> int:
        return int(self.http.post("/api/projects", json={"name": name}).json()["id"])

    def upload(self, pid: int, folder: Path, category: str, pattern: str = "*") -> int:
        files = sorted(p for p in folder.glob(pattern) if p.is_file())
        stored = 0
        for start in range(0, len(files), 50):
            batch = [
                ("files", (p.name, p.read_bytes(), "application/octet-stream"))
                for p in files[start : start + 50]
            ]
            answer = self.http.post(
                f"/api/projects/{pid}/samples/upload", files=batch, data={"category": category}
            )
            stored += answer.json()["stored"]
        return stored

    def train(self, pid: int, spec: dict[str, Any], **body: Any) -> dict[str, Any]:
        impulse = self.http.post(
            f"/api/projects/{pid}/impulses", json={"name": "bench", "spec": spec}
        )
        impulse.raise_for_status()
        started = time.perf_counter()
        run = self.http.post(
            f"/api/projects/{pid}/impulses/{impulse.json()['id']}/train", json=body
        )
        run.raise_for_status()
        job_id = run.json()["job_id"]
        while True:
            job = self.http.get(f"/api/projects/{pid}/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(1)
        if job["status"] != "succeeded":
            raise RuntimeError(f"training failed: {job['error']}")
        job["wall_s"] = round(time.perf_counter() - started, 1)
        return job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kws", type=Path, help="output folder of make-kws-dataset OUT 100")
    args = parser.parse_args()
    studio = Studio()
    rows: list[dict[str, Any]] = []
    try:
        pid = studio.project("BasicMotions")
        studio.upload(pid, DEMO / "training", "training")
        studio.upload(pid, DEMO / "testing", "testing")
        job = studio.train(pid, MOTION)
        test = job["result"]["evaluation"]
        rows.append({
            "check": "BasicMotions spectral + conv1d",
            "float32": test["float32"]["test"]["accuracy"],
            "int8": test["int8"]["test"]["accuracy"],
            "target": "int8 >= 0.95, |int8 - float| <= 0.01", "wall_s": job["wall_s"],
            "windows": job["result"]["windows"],
        })  # fmt: skip
        job = studio.train(pid, ANOMALY, normal_labels=["standing"])
        rows.append({
            "check": "BasicMotions anomaly (trained on standing)",
            "auc": job["result"]["anomaly"]["test"]["roc_auc"], "target": "AUC >= 0.9",
            "wall_s": job["wall_s"],
        })  # fmt: skip
        if args.kws:
            pid = studio.project("Keywords")
            studio.upload(pid, args.kws / "training", "training")
            studio.upload(pid, args.kws / "testing", "testing")
            job = studio.train(pid, KWS)
            test = job["result"]["evaluation"]
            rows.append({
                "check": "KWS MFCC + conv2d",
                "float32": test["float32"]["test"]["accuracy"],
                "int8": test["int8"]["test"]["accuracy"],
                "target": "int8 >= 0.90", "wall_s": job["wall_s"],
                "model_bytes": job["result"]["model_bytes"],
            })  # fmt: skip
    finally:
        studio.close()
    for row in rows:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))
    out = ROOT / "benchmarks" / "results" / "accuracy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
