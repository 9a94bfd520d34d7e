"""Errors in the API's shape: unhandled ones as a logged JSON 500 on a kept connection, ids beyond
the database's integers as 422 or 404, framework errors as `{"detail": {"code", "message"}}`, and
the OpenAPI schema documenting the bodies and statuses really sent."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backend.core.deps import SessionDep

FAR = 2**63  # beyond SQLite's integers, and PostgreSQL's


@pytest.fixture(scope="module")
def faulty_app(migrated: None):  # type: ignore[no-untyped-def]
    """The real app with routes that fail the ways a bug would."""
    from backend.main import create_app
    from backend.projects.models import Project

    app = create_app()

    @app.post("/api/faults/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    @app.post("/api/faults/overflow")
    def overflow() -> None:
        raise OverflowError("math range error")

    @app.post("/api/faults/far-row")
    def far_row(db: SessionDep) -> None:
        db.get(Project, FAR)  # the database refuses the number

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(faulty_app) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """uvicorn serving the app on a free port."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(faulty_app, port=port, log_config=None, lifespan="off")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not live.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    live.should_exit = True
    thread.join(timeout=10)


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Sends one request and reads one whole response (it carries a Content-Length)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_an_unhandled_error_is_a_logged_json_500_and_the_connection_stays_open(
    server: int, caplog: pytest.LogCaptureFixture
) -> None:
    post = b"POST /api/faults/bug HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
    get = b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n"
    with (
        caplog.at_level(logging.ERROR, logger="tinystudio"),
        socket.create_connection(("127.0.0.1", server), timeout=10) as sock,
    ):
        failed = _exchange(sock, post)
        after = _exchange(sock, get)  # on the same connection
    assert failed.startswith(b"HTTP/1.1 500 ")
    assert b"content-type: application/json" in failed.lower()
    assert b'{"detail":{"code":"internal_error","message":' in failed
    assert after.startswith(b"HTTP/1.1 200 ") and b'"ok"' in after
    logged = [r for r in caplog.records if r.exc_info and "POST /api/faults/bug" in r.getMessage()]
    assert logged and isinstance(logged[0].exc_info[1], RuntimeError)  # type: ignore[index]


def test_a_number_beyond_the_database_is_a_404_and_other_overflows_a_500(faulty_app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(faulty_app) as client:
        far = client.post("/api/faults/far-row")
        other = client.post("/api/faults/overflow")
    assert far.status_code == 404 and far.json()["detail"]["code"] == "not_found"
    assert other.status_code == 500 and other.json()["detail"]["code"] == "internal_error"


def test_ids_beyond_the_id_columns_are_refused_as_invalid(client, make_project) -> None:  # type: ignore[no-untyped-def]
    project_id, people = make_project()
    headers = people["owner"].headers
    base = f"/api/projects/{project_id}"
    answers = {
        "project path": client.get(f"/api/projects/{2**31}", headers=headers),
        "far project path": client.get(f"/api/projects/{FAR}", headers=headers),
        "sample path": client.get(f"{base}/samples/{FAR}", headers=headers),
        "job path": client.get(f"{base}/jobs/{2**31}", headers=headers),
        "token path": client.delete(f"/api/users/me/tokens/{FAR}", headers=headers),
        "query id": client.get(f"{base}/training-runs?impulse_id={FAR}", headers=headers),
        "offset": client.get(f"{base}/samples?offset={FAR}", headers=headers),
        "body ids": client.post(
            f"{base}/samples/bulk", json={"sample_ids": [FAR], "action": "enable"}, headers=headers
        ),
        "body id": client.post(
            f"{base}/training-runs/1/deployments",
            json={"target": "library", "anomaly_run_id": 2**31},
            headers=headers,
        ),
    }
    wrong = {
        what: (answer.status_code, answer.text)
        for what, answer in answers.items()
        if answer.status_code != 422 or answer.json()["detail"]["code"] != "validation_error"
    }
    assert not wrong
    assert client.get(f"/api/projects/{2**31 - 1}", headers=headers).status_code == 404


def test_an_invitation_by_a_username_longer_than_any_is_refused(client, make_project) -> None:  # type: ignore[no-untyped-def]
    # Found by fuzzing on PostgreSQL: the name overflowed its column and answered 500.
    project_id, people = make_project()
    url = f"/api/projects/{project_id}/invitations"
    headers = people["owner"].headers
    too_long = client.post(url, json={"invitee": "n" * 65}, headers=headers)
    long_email = client.post(url, json={"invitee": "e" * 200 + "@example.com"}, headers=headers)
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["detail"]["errors"][0]["loc"] == ["body", "invitee"]
    assert long_email.status_code == 201, long_email.text


def test_framework_errors_come_in_the_api_shape(client, make_project) -> None:  # type: ignore[no-untyped-def]
    project_id, people = make_project()
    wrong_method = client.delete("/api/health")
    not_json = client.post(
        f"/api/projects/{project_id}/samples/bulk",
        content=b"\xff{",
        headers={"content-type": "application/json", **people["owner"].headers},
    )
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
    assert wrong_method.json() == {
        "detail": {"code": "method_not_allowed", "message": "Method Not Allowed"}
    }
    assert not_json.status_code in (400, 422)
    assert set(not_json.json()["detail"]) >= {"code", "message"}


def _operation(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return schema["paths"][path][method]  # type: ignore[no-any-return]


def test_the_schema_documents_the_real_error_bodies_and_statuses(app) -> None:  # type: ignore[no-untyped-def]
    schema = app.openapi()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert components["ValidationDetail"]["properties"]["code"]["const"] == "validation_error"
    assert components["ErrorDetail"]["required"] == ["code", "message"]

    def statuses(method: str, path: str) -> set[int]:
        return {int(s) for s in _operation(schema, method, path)["responses"]}

    assert statuses("get", "/api/health") == {200}
    assert statuses("post", "/api/auth/login") >= {401, 422, 429}
    assert 403 not in statuses("post", "/api/auth/login")
    assert statuses("get", "/api/projects/{project_id}") >= {401, 404, 422}
    assert 403 not in statuses("get", "/api/projects/{project_id}")  # any member may read
    assert statuses("delete", "/api/projects/{project_id}") >= {401, 403, 404}
    assert statuses("post", "/api/projects/{project_id}/samples/upload") >= {413, 415}
    unprocessable = _operation(schema, "patch", "/api/projects/{project_id}")["responses"]["422"]
    refs = unprocessable["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/ApiValidationError"} in refs
    forbidden = _operation(schema, "patch", "/api/projects/{project_id}")["responses"]["403"]
    assert forbidden["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiError"
    }
