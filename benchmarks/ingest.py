"""Ingestion throughput through the HTTP API: samples/s and MB/s for JSON, CBOR, CSV and WAV.

Starts a real studio (`tinystudio up --no-worker`, embedded SQLite) on a free port in a fresh data
directory, then uploads generated files through Edge Impulse's ingestion route
(`POST /api/training/files`, several files per request). Prints a table and writes
benchmarks/results/ingest.json.

    .venv/bin/python benchmarks/ingest.py [--files 200] [--batch 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx
import numpy as np

from backend.datasets.formats import to_acquisition_cbor, to_acquisition_json

ROOT = Path(__file__).resolve().parents[1]
SENSORS = [(f"acc{i}", "m/s2") for i in range(3)]


def make_files(fmt: str, count: int, rng: np.random.Generator) -> list[tuple[str, bytes, str]]:
    """`count` distinct files: 2 s of 3-axis data at 100 Hz, or 1 s of 16 kHz audio."""
    files = []
    for n in range(count):
        if fmt == "wav":
            out = io.BytesIO()
            with wave.open(out, "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(16000)
                handle.writeframes(rng.integers(-8000, 8000, 16000).astype("<i2").tobytes())
            files.append((f"noise.{n}.wav", out.getvalue(), "audio/wav"))
            continue
        values = rng.normal(size=(200, 3)).astype(np.float32)
        if fmt == "json":
            data = to_acquisition_json(values=values, sensors=SENSORS, interval_ms=10.0)
            files.append((f"wave.{n}.json", data, "application/json"))
        elif fmt == "cbor":
            data = to_acquisition_cbor(values=values, sensors=SENSORS, interval_ms=10.0)
            files.append((f"wave.{n}.cbor", data, "application/cbor"))
        else:
            lines = ["timestamp,acc0,acc1,acc2"] + [
                f"{i * 10},{r[0]:.6f},{r[1]:.6f},{r[2]:.6f}" for i, r in enumerate(values)
            ]
            files.append((f"wave.{n}.csv", ("\n".join(lines) + "\n").encode(), "text/csv"))
    return files


def make_large(fmt: str, count: int, rng: np.random.Generator) -> list[tuple[str, bytes, str]]:
    """Large files: 60 s of 16 kHz audio (1.9 MB WAV) or 10 min of 3 axes at 100 Hz (CSV/JSON)."""
    files = []
    for n in range(count):
        if fmt == "wav":
            out = io.BytesIO()
            with wave.open(out, "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(16000)
                handle.writeframes(rng.integers(-8000, 8000, 16000 * 60).astype("<i2").tobytes())
            files.append((f"long.{n}.wav", out.getvalue(), "audio/wav"))
            continue
        values = rng.normal(size=(60000, 3)).astype(np.float32)
        if fmt == "csv":
            rows = np.column_stack([np.arange(60000) * 10.0, values])
            text = io.StringIO()
            np.savetxt(text, rows, fmt=["%d", "%.6f", "%.6f", "%.6f"], delimiter=",")
            data = ("timestamp,acc0,acc1,acc2\n" + text.getvalue()).encode()
            files.append((f"long.{n}.csv", data, "text/csv"))
        else:
            data = to_acquisition_json(values=values, sensors=SENSORS, interval_ms=10.0)
            files.append((f"long.{n}.json", data, "application/json"))
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="files per format")
    parser.add_argument("--batch", type=int, default=20, help="files per request")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="tinystudio-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "up", "--no-worker", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            for _ in range(200):
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            reg = http.post(
                "/api/auth/register",
                json={
                    "username": "bench",
                    "email": "bench@example.com",
                    "password": "Throughput-check-2026",
                },
            )
            csrf = {"x-csrf-token": reg.json()["csrf_token"]}
            pid = http.post("/api/projects", json={"name": "Bench"}, headers=csrf).json()["id"]
            key = http.post(
                f"/api/projects/{pid}/api-keys", json={"name": "b"}, headers=csrf
            ).json()["key"]
            for fmt in ("json", "cbor", "csv", "wav"):  # warm up every code path once
                warm = make_files(fmt, 1, np.random.default_rng(99))
                http.post(
                    "/api/testing/files", headers={"x-api-key": key}, files=[("data", warm[0])]
                )
            cases = [
                (fmt, make_files(fmt, args.files, rng)) for fmt in ("json", "cbor", "csv", "wav")
            ]
            cases += [(f"{fmt} (large)", make_large(fmt, 5, rng)) for fmt in ("json", "csv", "wav")]
            for fmt, files in cases:
                total_bytes = sum(len(f[1]) for f in files)
                started = time.perf_counter()
                stored = 0
                batch_size = args.batch if "large" not in fmt else 1
                for start in range(0, len(files), batch_size):
                    batch = files[start : start + batch_size]
                    answer = http.post(
                        "/api/training/files", headers={"x-api-key": key},
                        files=[("data", f) for f in batch],
                    )  # fmt: skip
                    stored += sum(1 for f in answer.json()["files"] if f["success"])
                elapsed = time.perf_counter() - started
                rows.append(
                    {
                        "format": fmt,
                        "files": len(files),
                        "stored": stored,
                        "mb": round(total_bytes / 1e6, 3),
                        "seconds": round(elapsed, 3),
                        "samples_per_s": round(stored / elapsed, 1),
                        "mb_per_s": round(total_bytes / 1e6 / elapsed, 2),
                    }
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'format':<12} {'files':>6} {'MB':>8} {'seconds':>8} {'samples/s':>10} {'MB/s':>7}")
    for row in rows:
        print(
            f"{row['format']:<12} {row['stored']:>6} {row['mb']:>8} {row['seconds']:>8} "
            f"{row['samples_per_s']:>10} {row['mb_per_s']:>7}"
        )
    out = ROOT / "benchmarks" / "results" / "ingest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"batch": args.batch, "results": rows}, indent=2))
    print(f"wrote {out}")
    return 0 if all(r["stored"] == r["files"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
