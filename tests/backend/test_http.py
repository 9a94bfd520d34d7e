"""Security headers on every response, and the browser app served compressed and well cached."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

SCRIPT = b"console.log('TinyStudio');\n" * 200
FAKE_BROTLI = b"\x1b brotli stream stand-in"  # served as stored; the server never decodes it


def _assert_secured(response) -> None:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "connect-src 'self' ws: wss:",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
    ):
        assert directive in policy, (directive, policy)
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    permissions = response.headers["permissions-policy"]
    for feature in ("serial=(self)", "microphone=(self)", "accelerometer=(self)", "camera=()"):
        assert feature in permissions


def test_api_answers_carry_security_headers(client, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    answers = [
        client.get("/api/health"),
        client.get("/api/users/me", headers=person.headers),
        client.get("/api/users/me"),  # 401
        client.get("/api/no-such-route"),  # 404
        client.post("/api/auth/login", json={}),  # 422
        client.get("/projects/1"),  # the browser app (or its placeholder)
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 404, 422, 200]
    for answer in answers:
        _assert_secured(answer)


def test_swagger_page_has_its_own_policy(client) -> None:  # type: ignore[no-untyped-def]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in policy
    assert "frame-ancestors 'none'" in policy
    assert docs.headers["x-frame-options"] == "DENY"


@pytest.fixture()
def dist_client(tmp_path: Path) -> Iterator[TestClient]:
    """A client of an app serving a small build: index.html and one hashed script with twins."""
    from backend.core.http import SecurityHeaders
    from backend.core.static import mount_browser_app

    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>TinyStudio</title>")
    (tmp_path / "robots.txt").write_text("User-agent: *\n")
    script = tmp_path / "assets" / "index-C7hCJI1F.js"
    script.write_bytes(SCRIPT)
    script.with_name(script.name + ".gz").write_bytes(gzip.compress(SCRIPT))
    script.with_name(script.name + ".br").write_bytes(FAKE_BROTLI)
    (tmp_path.parent / "secret.txt").write_text("not for the web")
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    mount_browser_app(app, tmp_path)
    with TestClient(app) as http:
        yield http


def _raw(http: TestClient, path: str, accept_encoding: str) -> tuple[dict[str, str], bytes]:
    """Headers and the body exactly as sent, not decoded."""
    with http.stream("GET", path, headers={"accept-encoding": accept_encoding}) as answer:
        assert answer.status_code == 200
        return dict(answer.headers), b"".join(answer.iter_raw())


def test_hashed_assets_come_compressed_and_immutable(dist_client: TestClient) -> None:
    path = "/assets/index-C7hCJI1F.js"
    headers, body = _raw(dist_client, path, "gzip, deflate, br")
    assert headers["content-encoding"] == "br" and body == FAKE_BROTLI
    assert headers["content-type"].startswith("text/javascript")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-length"] == str(len(FAKE_BROTLI))
    for accept in ("gzip", "br;q=0, gzip;q=0.5"):
        headers, body = _raw(dist_client, path, accept)
        assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == SCRIPT
    headers, body = _raw(dist_client, path, "identity")
    assert "content-encoding" not in headers and body == SCRIPT
    _assert_secured(dist_client.get(path))


def test_index_and_app_routes_are_revalidated(dist_client: TestClient) -> None:
    for path in ("/", "/projects/7/data", "/../secret.txt", "/robots.txt"):
        answer = dist_client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-cache", path
        assert "not for the web" not in answer.text
        _assert_secured(answer)
    assert "TinyStudio" in dist_client.get("/projects/7/data").text
    missing = dist_client.get("/api/nothing")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "not_found"
    _assert_secured(missing)


def test_accept_encoding_parsing() -> None:
    from backend.core.static import accepted_encodings

    assert accepted_encodings("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert accepted_encodings("br;q=0, GZIP;q=0.8") == {"gzip"}
    assert accepted_encodings("br;q=nonsense, ") == set()
    assert accepted_encodings("") == set()
