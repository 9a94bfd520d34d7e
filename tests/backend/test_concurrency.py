"""Races against a live server: requests fired at once over keep-alive connections end in one
winner and clear 409s, never a 500, and every connection stays open afterwards."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import DEMO_DIR

RACERS = 4
WALKING = sorted((DEMO_DIR / "training").glob("walking.*.csv"))[0].read_bytes()
SPEC = {
    "input": {"window_ms": 2000, "stride_ms": 500, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "spectral-analysis", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {}}],
}


@pytest.fixture(scope="module")
def port(app) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a free local port, for as long as the module runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield free
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Answer:
    status: int
    body: Any


class Caller:
    """One keep-alive HTTP/1.1 connection to the live server, with default headers."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = headers or {}

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {**self.headers, **(headers or {})}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            sent["content-type"] = "application/json"
        self.connection.request(method, path, body=content, headers=sent)
        response = self.connection.getresponse()
        data = response.read()
        if response.getheader("content-type", "").startswith("application/json"):
            return Answer(response.status, json.loads(data))
        return Answer(response.status, data.decode(errors="replace"))

    def upload(
        self,
        path: str,
        *,
        files: list[tuple[str, bytes]],
        field: str = "files",
        headers: dict[str, str] | None = None,
        **form: str,
    ) -> Answer:
        request = httpx.Request(
            "POST", "http://server/", data=form,
            files=[(field, (name, data, "text/csv")) for name, data in files],
        )  # fmt: skip
        body = request.read()
        headers = {**(headers or {}), "content-type": request.headers["content-type"]}
        return self.call("POST", path, content=body, headers=headers)

    def keeps_alive(self) -> bool:
        """The connection the last answer came on is still open and serves the next request."""
        sock = self.connection.sock
        try:
            healthy = sock is not None and self.call("GET", "/api/health").status == 200
        except (OSError, http.client.HTTPException):
            return False
        return healthy and self.connection.sock is sock


def race(callers: list[Caller], attempt: Callable[[int, Caller], Answer]) -> list[Answer]:
    """Fires `attempt` from every caller at the same moment; checks no answer is a 5xx and that
    every connection survived its answer."""
    for caller in callers:
        assert caller.call("GET", "/api/health").status == 200
    barrier = threading.Barrier(len(callers))
    answers: list[Answer | None] = [None] * len(callers)
    alive = [False] * len(callers)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = attempt(index, callers[index])
        alive[index] = callers[index].keeps_alive()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(callers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done = [a for a in answers if a is not None]
    assert len(done) == len(callers), "a request did not finish"
    assert all(a.status < 500 for a in done), [(a.status, a.body) for a in done]
    assert all(alive), "a keep-alive connection was dropped"
    return done


def statuses(answers: list[Answer]) -> Counter[int]:
    return Counter(a.status for a in answers)


def one_winner(answers: list[Answer], success: int, *, api_errors: bool = True) -> Answer:
    """The single successful answer; every other one is a 409 (naming its conflict, in the
    API's error body unless the route answers in a format of its own)."""
    assert statuses(answers) == Counter({success: 1, 409: len(answers) - 1}), [
        (a.status, a.body) for a in answers
    ]
    for answer in answers:
        if answer.status == 409 and api_errors:
            assert answer.body["detail"]["code"] and answer.body["detail"]["message"]
    return next(a for a in answers if a.status == success)


def _project_with_sample(port: int, make_project) -> tuple[int, Caller, int]:  # type: ignore[no-untyped-def]
    pid, people = make_project("editor")
    owner = Caller(port, people["owner"].headers)
    stored = owner.upload(
        f"/api/projects/{pid}/samples/upload", files=[("walking.1.csv", WALKING)],
        category="training",
    )  # fmt: skip
    assert stored.status == 201, stored.body
    return pid, owner, stored.body["files"][0]["sample"]["id"]


def test_saving_one_impulse_version_at_once_has_one_winner(port, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, owner, _ = _project_with_sample(port, make_project)
    created = owner.call(
        "POST", f"/api/projects/{pid}/impulses", json_body={"name": "race", "spec": SPEC}
    )
    assert created.status == 201, created.body
    path = f"/api/projects/{pid}/impulses/{created.body['id']}"
    callers = [Caller(port, owner.headers) for _ in range(RACERS)]

    answers = race(
        callers,
        lambda i, c: c.call(
            "PUT", path, json_body={"name": f"editor {i}", "spec": SPEC, "base_version": 1}
        ),
    )
    winner = one_winner(answers, 200)
    assert winner.body["version"] == 2
    assert {a.body["detail"]["current_version"] for a in answers if a.status == 409} == {2}

    # Saves that name no version are last-writer-wins: each gets a version of its own.
    answers = race(callers, lambda i, c: c.call("PUT", path, json_body={"spec": SPEC}))
    assert statuses(answers) == Counter({200: RACERS})
    assert sorted(a.body["version"] for a in answers) == list(range(3, 3 + RACERS))
    versions = owner.call("GET", f"{path}/versions").body
    assert sorted(v["version"] for v in versions) == list(range(1, 3 + RACERS))


def test_editing_one_sample_version_at_once_has_one_winner(port, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, owner, sample_id = _project_with_sample(port, make_project)
    path = f"/api/projects/{pid}/samples/{sample_id}"
    version = owner.call("GET", path).body["version"]
    callers = [Caller(port, owner.headers) for _ in range(RACERS)]

    answers = race(
        callers,
        lambda i, c: c.call("PATCH", path, json_body={"label": f"label{i}", "version": version}),
    )
    winner = one_winner(answers, 200)
    current = winner.body["version"]
    assert {a.body["detail"]["current_version"] for a in answers if a.status == 409} == {current}

    answers = race(
        callers,
        lambda i, c: c.call(
            "POST", f"{path}/crop", json_body={"start_ms": 0, "end_ms": 5000, "version": current}
        ),
    )
    winner = one_winner(answers, 200)
    assert winner.body["length"] == 50

    # Without a version the last writer wins, and nobody sees an error.
    answers = race(callers, lambda i, c: c.call("PATCH", path, json_body={"label": f"last{i}"}))
    assert statuses(answers) == Counter({200: RACERS})
    assert owner.call("GET", path).body["label"] in {f"last{i}" for i in range(RACERS)}
    answers = race(
        callers,
        lambda i, c: c.call("POST", f"{path}/crop", json_body={"start_ms": 0, "end_ms": 2000}),
    )
    assert statuses(answers) == Counter({200: RACERS})
    assert owner.call("GET", path).body["length"] == 20


def test_bulk_edits_trashing_and_purging_at_once_never_fail(port, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, owner, sample_id = _project_with_sample(port, make_project)
    callers = [Caller(port, owner.headers) for _ in range(RACERS)]
    answers = race(
        callers,
        lambda i, c: c.call(
            "POST", f"/api/projects/{pid}/samples/bulk",
            json_body={"action": "relabel", "sample_ids": [sample_id], "label": f"bulk{i}"},
        ),
    )  # fmt: skip
    assert statuses(answers) == Counter({200: RACERS})

    answers = race(
        callers, lambda i, c: c.call("DELETE", f"/api/projects/{pid}/samples/{sample_id}")
    )
    assert statuses(answers) == Counter({200: 1, 404: RACERS - 1})

    answers = race(
        callers,
        lambda i, c: c.call(
            "POST", f"/api/projects/{pid}/samples/purge", json_body={"sample_ids": [sample_id]}
        ),
    )
    assert statuses(answers) == Counter({200: RACERS})
    assert sum(a.body["changed"] for a in answers) == 1


def test_signing_up_one_name_at_once_has_one_winner(port) -> None:  # type: ignore[no-untyped-def]
    callers = [Caller(port) for _ in range(RACERS)]
    name = f"racer-{uuid.uuid4().hex[:8]}"

    def register(username: str, email: str, caller: Caller) -> Answer:
        return caller.call(
            "POST", "/api/auth/register",
            json_body={"username": username, "email": email, "password": "Sturdy-racing-pass-7"},
        )  # fmt: skip

    same_name = race(callers, lambda i, c: register(name, f"{name}-{i}@example.com", c))
    one_winner(same_name, 201)
    assert {a.body["detail"]["code"] for a in same_name if a.status == 409} == {"username_taken"}

    email = f"{name}-shared@example.com"
    same_email = race(callers, lambda i, c: register(f"{name}-{i}", email, c))
    one_winner(same_email, 201)
    assert {a.body["detail"]["code"] for a in same_email if a.status == 409} == {"email_taken"}


def test_identical_uploads_at_once_store_one_when_duplicates_are_refused(
    port, make_project, db
) -> None:  # type: ignore[no-untyped-def]
    from backend.accounts.models import User
    from backend.datasets.models import Sample
    from backend.projects import service
    from backend.projects.models import Project

    pid, people = make_project()
    _, key = service.create_api_key(
        db=db, project=db.get(Project, pid), actor=db.get(User, people["owner"].id), name="race"
    )
    db.commit()
    studio = [Caller(port, people["owner"].headers) for _ in range(RACERS)]
    devices = [Caller(port, {"x-api-key": key}) for _ in range(RACERS)]

    def stored(content: bytes) -> int:
        db.expire_all()
        digest = hashlib.sha256(content).hexdigest()
        return db.query(Sample).filter_by(project_id=pid, sha256=digest, deleted_at=None).count()

    answers = race(
        studio,
        lambda i, c: c.upload(
            f"/api/projects/{pid}/samples/upload", files=[(f"walking.{i}.csv", WALKING)],
            category="training", disallow_duplicates="true",
        ),
    )  # fmt: skip
    one_winner(answers, 201, api_errors=False)
    assert all("already stored" in a.body["files"][0]["error"] for a in answers if a.status == 409)
    assert stored(WALKING) == 1

    files_content = WALKING + b"\n"
    answers = race(
        devices,
        lambda i, c: c.upload(
            "/api/training/files", files=[(f"w{i}.csv", files_content)], field="data",
            headers={"x-disallow-duplicates": "1"},
        ),
    )  # fmt: skip
    one_winner(answers, 200, api_errors=False)
    assert stored(files_content) == 1

    data_content = WALKING + b"\n\n"
    answers = race(
        devices,
        lambda i, c: c.call(
            "POST", "/api/training/data", content=data_content,
            headers={"content-type": "text/csv", "x-file-name": f"d{i}.csv",
                     "x-disallow-duplicates": "1"},
        ),
    )  # fmt: skip
    one_winner(answers, 200, api_errors=False)
    assert stored(data_content) == 1

    # Without the flag the same file may be stored twice, at once or not.
    answers = race(
        studio[:2],
        lambda i, c: c.upload(
            f"/api/projects/{pid}/samples/upload", files=[(f"again.{i}.csv", WALKING)],
            category="training",
        ),
    )  # fmt: skip
    assert statuses(answers) == Counter({201: 2})
    assert stored(WALKING) == 3


def _invitation(port: int, make_project, make_person) -> tuple[int, str, Caller]:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    invitee = make_person("invitee")
    invited = Caller(port, people["owner"].headers).call(
        "POST", f"/api/projects/{pid}/invitations",
        json_body={"invitee": invitee.username, "role": "editor"},
    )  # fmt: skip
    assert invited.status == 201, invited.body
    return pid, f"/api/invitations/{invited.body['id']}", Caller(port, invitee.headers)


def test_an_invitation_is_answered_once(port, make_project, make_person) -> None:  # type: ignore[no-untyped-def]
    pid, path, invitee = _invitation(port, make_project, make_person)
    callers = [Caller(port, invitee.headers) for _ in range(RACERS)]
    answers = race(callers, lambda i, c: c.call("POST", f"{path}/accept"))
    one_winner(answers, 200)
    members = invitee.call("GET", f"/api/projects/{pid}/members")
    assert members.status == 200 and len(members.body) == 2

    pid, path, invitee = _invitation(port, make_project, make_person)
    callers = [Caller(port, invitee.headers) for _ in range(RACERS)]
    answers = race(
        callers, lambda i, c: c.call("POST", f"{path}/{'accept' if i % 2 else 'decline'}")
    )
    winner = one_winner(answers, 200)
    assert {a.body["detail"]["status"] for a in answers if a.status == 409} == {
        winner.body["status"]
    }
    joined = invitee.call("GET", f"/api/projects/{pid}/members").status == 200
    assert joined == (winner.body["status"] == "accepted")
