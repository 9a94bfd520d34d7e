"""Log-in throttling: failures count per account whatever name was typed, and per client address."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture()
def client_at(app) -> Iterator[Callable]:  # type: ignore[no-untyped-def, type-arg]
    """Factory: a test client whose requests come from a fresh client address of its own."""
    from fastapi.testclient import TestClient

    opened: list[TestClient] = []

    def make() -> TestClient:
        address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
        opened.append(TestClient(app, client=(address, 50000)))
        return opened[-1]

    yield make
    for test_client in opened:
        test_client.close()


def _register(http) -> dict[str, str]:  # type: ignore[no-untyped-def]
    name = f"grace-{uuid.uuid4().hex[:8]}"
    identity = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "Compiler-pioneer-1952",
    }
    assert http.post("/api/auth/register", json=identity).status_code == 201
    http.cookies.clear()
    return identity


def _login(http, login: str, password: str):  # type: ignore[no-untyped-def]
    return http.post("/api/auth/login", json={"username": login, "password": password})


def test_failures_typed_as_email_lock_the_username_too(client_at) -> None:  # type: ignore[no-untyped-def]
    http = client_at()
    identity = _register(http)
    for _ in range(5):
        assert _login(http, identity["email"].upper(), "Wrong-guess-000").status_code == 401
    locked = _login(http, identity["username"], identity["password"])
    assert locked.status_code == 429, locked.text
    assert locked.json()["detail"]["code"] == "too_many_attempts"
    assert 1 <= int(locked.headers["retry-after"]) <= 3  # the test settings lock for 2 s
    # Another address is held back by the account's lock as well.
    assert _login(client_at(), identity["username"], identity["password"]).status_code == 429


def test_unknown_names_answer_like_known_ones(client_at) -> None:  # type: ignore[no-untyped-def]
    http = client_at()
    identity = _register(http)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    answers: dict[str, list[tuple[int, str]]] = {"known": [], "unknown": []}
    for _ in range(6):
        for kind, login in (("known", identity["username"]), ("unknown", unknown)):
            answer = _login(http, login, "Wrong-guess-000")
            answers[kind].append((answer.status_code, answer.json()["detail"]["code"]))
    assert answers["known"] == answers["unknown"]
    assert [status for status, _ in answers["unknown"]] == [401] * 5 + [429]


def test_failures_over_many_names_lock_the_address(client_at) -> None:  # type: ignore[no-untyped-def]
    from backend.core.config import get_settings

    limit = get_settings().login_max_failures_per_address
    assert limit == 20
    guesser = client_at()
    identity = _register(client_at())
    for n in range(limit):
        answer = _login(guesser, f"victim-{n}-{uuid.uuid4().hex[:6]}", "Summer-2024-guess")
        assert answer.status_code == 401, (n, answer.text)
    locked = _login(guesser, identity["username"], identity["password"])
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    # The lock is the address's: the account itself logs in from elsewhere.
    assert _login(client_at(), identity["username"], identity["password"]).status_code == 200
