"""A studio in a subprocess for the reliability benchmark and the API fuzz test: its own data
directory, a free port, a project owner's token, and a schemathesis run against it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "backend" / "datasets" / "demo_data" / "basic-motions"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
FUZZ_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
# Streams until its job ends, and no worker runs in the fuzzed studio, so it would never answer.
FUZZ_EXCLUDED = ("/api/projects/{project_id}/jobs/{job_id}/events",)
MOTION = {
    "input": {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-conv1d", "params": {}}],
}


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Asks a studio process to stop (it stops its worker), killing it after a minute."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Studio:
    """`tinystudio up` on a free port with a private data directory; the log goes to a file."""

    def __init__(self, *, worker: bool = False, env: dict[str, str] | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.data_dir = Path(tempfile.mkdtemp(prefix="tinystudio-live-"))
        self.log_path = self.data_dir / "studio.log"
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TINYSTUDIO_")}
        command = [sys.executable, "-m", "backend.cli", "up", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)] + ([] if worker else ["--no-worker"])
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=clean | (env or {}), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self.http = httpx.Client(base_url=self.base, timeout=120)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the studio exited early:\n{self.log()}")
            try:
                if self.http.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.close()
        raise RuntimeError("the studio did not answer within 120 s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def server_errors(self) -> int:
        """5xx answers in the access log so far."""
        return len(re.findall(r'HTTP/1\.1" 5\d\d', self.log()))

    def close(self) -> None:
        self.http.close()
        stop_process(self.process)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass
class Person:
    """A registered user with a personal access token (which needs no CSRF header)."""

    user_id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Owner(Person):
    """A person owning one project."""

    project_id: int


def register(http: httpx.Client, name: str | None = None) -> httpx.Response:
    name = name or f"user-{uuid.uuid4().hex[:8]}"
    return http.post(
        "/api/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "Sturdy-fuzz-9147"},
    )


def make_person(studio: Studio) -> Person:
    """A new user and their token."""
    with httpx.Client(base_url=studio.base, timeout=60) as http:
        answer = register(http)
        answer.raise_for_status()
        csrf = {"x-csrf-token": answer.json()["csrf_token"]}
        token = http.post("/api/users/me/tokens", json={"name": "live"}, headers=csrf)
        token.raise_for_status()
    user = answer.json()["user"]
    return Person(user["id"], user["username"], token.json()["token"])


def make_owner(studio: Studio, project: str = "Fuzzed") -> Owner:
    """A new user, their token and a project of theirs."""
    person = make_person(studio)
    made = studio.http.post("/api/projects", json={"name": project}, headers=person.headers)
    made.raise_for_status()
    return Owner(person.user_id, person.username, person.token, made.json()["id"])


@dataclass
class Seeded:
    """Real rows of the owner's project for the fuzzed paths to name, and a project API key."""

    paths: dict[str, int]
    api_key: str
    spare_project_id: int


def seed(studio: Studio, owner: Owner) -> Seeded:
    """Samples, an impulse, a queued training run and export job, a dataset version, an
    invitation, and a spare API key, access token and project (the fuzzer may remove them)."""
    base = f"/api/projects/{owner.project_id}"

    def post(path: str, **kwargs: Any) -> dict[str, Any]:
        answer = studio.http.post(base + path, headers=owner.headers, **kwargs)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    for category in ("training", "testing"):
        files = [
            ("files", (p.name, p.read_bytes(), "text/csv"))
            for label in ("walking", "standing")
            for p in sorted((DEMO / category).glob(f"{label}.*.csv"))[:2]
        ]
        upload = post("/samples/upload", files=files, data={"category": category})
    impulse_id = post("/impulses", json={"name": "fuzz", "spec": MOTION})["id"]
    invitee = make_person(studio).username
    return Seeded(
        paths={
            "sample_id": upload["files"][0]["sample"]["id"],
            "impulse_id": impulse_id,
            "run_id": post(f"/impulses/{impulse_id}/train", json={})["id"],
            "job_id": post("/export")["id"],
            "version_id": post("/dataset-versions", json={"name": "fuzz"})["id"],
            "invitation_id": post("/invitations", json={"invitee": invitee})["id"],
            "key_id": post("/api-keys", json={"name": "spare"})["id"],
            "token_id": studio.http.post(
                "/api/users/me/tokens", json={"name": "spare"}, headers=owner.headers
            ).json()["id"],
        },
        api_key=post("/api-keys", json={"name": "fuzz"})["key"],
        spare_project_id=studio.http.post(
            "/api/projects", json={"name": "Spare"}, headers=owner.headers
        ).json()["id"],
    )


@dataclass
class FuzzRun:
    exit_code: int
    output: str
    operations: int
    server_errors: int


def fuzz(
    studio: Studio, owner: Owner, seeded: Seeded, *, max_examples: int, seed: int = 8
) -> FuzzRun:
    """schemathesis over every route but FUZZ_EXCLUDED, as the owner (and with the project's API
    key on device routes), its project's seeded rows named in the paths."""
    config = studio.data_dir / "schemathesis.toml"
    headers = f'Authorization = "Bearer {owner.token}", x-api-key = "{seeded.api_key}"'
    paths = {"project_id": owner.project_id, **seeded.paths}
    lines = [f"headers = {{ {headers} }}", "[parameters]"]
    lines += [f'"path.{name}" = {value}' for name, value in paths.items()]
    # Deleting the project (its name may have been fuzzed into the confirmation) takes the spare.
    lines += ["[[operations]]", 'include-operation-id = "delete_project"']
    lines += [f'parameters = {{ "path.project_id" = {seeded.spare_project_id} }}']
    config.write_text("\n".join(lines) + "\n")
    before = studio.server_errors()
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "--no-color", "run",
        f"{studio.base}/api/openapi.json", "--checks", FUZZ_CHECKS,
        "--max-examples", str(max_examples), "--request-timeout", "30", "--seed", str(seed),
        "--workers", "1", "--generation-database", "none", "--suppress-health-check", "all",
        "--report-dir", str(studio.data_dir / "schemathesis-report"),
    ]  # fmt: skip
    for path in FUZZ_EXCLUDED:
        command += ["--exclude-path", path]
    done = subprocess.run(command, capture_output=True, text=True, cwd=studio.data_dir)
    output = done.stdout + done.stderr
    tested = re.search(r"(\d+) (?:operations? )?tested", output) or re.search(
        r"(\d+) selected", output
    )
    return FuzzRun(
        exit_code=done.returncode,
        output=output,
        operations=int(tested.group(1)) if tested else 0,
        server_errors=studio.server_errors() - before,
    )
