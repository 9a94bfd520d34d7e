"""Registration, log-in with throttling, sessions with CSRF, tokens and password changes."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select


def _new_identity() -> dict[str, str]:
    name = f"ada-{uuid.uuid4().hex[:8]}"
    return {"username": name, "email": f"{name}@example.com", "password": "Analytical-engine-1843"}


def _user_count(db) -> int:  # type: ignore[no-untyped-def]
    from backend.accounts.models import User

    db.expire_all()
    return db.scalar(select(func.count()).select_from(User))


def test_register_logs_in_and_me_answers(client) -> None:  # type: ignore[no-untyped-def]
    identity = _new_identity()
    response = client.post("/api/auth/register", json=identity)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["username"] == identity["username"]
    assert "password" not in response.text and "hash" not in response.text
    cookie_header = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie_header if c.startswith("tinystudio_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    me = client.get("/api/users/me")
    assert me.status_code == 200 and me.json()["email"] == identity["email"]


def test_duplicate_and_weak_registrations_change_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    identity = _new_identity()
    assert client.post("/api/auth/register", json=identity).status_code == 201
    before = _user_count(db)
    same_name = {**identity, "email": "other-" + identity["email"]}
    answer = client.post("/api/auth/register", json=same_name)
    assert answer.status_code == 409 and answer.json()["detail"]["code"] == "username_taken"
    same_email = {**identity, "username": identity["username"] + "x"}
    answer = client.post("/api/auth/register", json=same_email)
    assert answer.status_code == 409 and answer.json()["detail"]["code"] == "email_taken"
    fresh = {**_new_identity(), "username": identity["username"] + "z"}
    for weak in ["", "short", "password123", "aaaaaaaaaaaa", fresh["username"] + "99"]:
        answer = client.post("/api/auth/register", json={**fresh, "password": weak})
        assert answer.status_code in (400, 422), weak
        assert "password" in answer.json()["detail"]["message"]
    answer = client.post("/api/auth/register", json={**_new_identity(), "username": "  "})
    assert answer.status_code == 422 and "username" in answer.json()["detail"]["message"]
    assert _user_count(db) == before


def test_login_is_vague_and_slows_down_after_failures(client) -> None:  # type: ignore[no-untyped-def]
    identity = _new_identity()
    client.post("/api/auth/register", json=identity)
    client.cookies.clear()
    wrong_password = client.post(
        "/api/auth/login", json={"username": identity["username"], "password": "Not-the-right-1"}
    )
    wrong_user = client.post(
        "/api/auth/login", json={"username": "nobody-" + identity["username"], "password": "x" * 12}
    )
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert wrong_password.json() == wrong_user.json()  # no hint which part was wrong
    for _ in range(4):
        client.post("/api/auth/login", json={"username": identity["username"], "password": "nope"})
    locked = client.post("/api/auth/login", json=identity | {"username": identity["username"]})
    assert locked.status_code == 429 and "try again" in locked.json()["detail"]["message"]
    time.sleep(2.2)  # the test settings lock for 2 s
    ok = client.post(
        "/api/auth/login", json={"username": identity["email"], "password": identity["password"]}
    )
    assert ok.status_code == 200, ok.text


def test_session_cookie_needs_csrf_header_for_changes(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/auth/register", json=_new_identity())
    csrf = response.json()["csrf_token"]
    refused = client.post("/api/projects", json={"name": "No CSRF"})
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "csrf_failed"
    wrong = client.post("/api/projects", json={"name": "Bad"}, headers={"x-csrf-token": "0" * 64})
    assert wrong.status_code == 403
    made = client.post("/api/projects", json={"name": "With CSRF"}, headers={"x-csrf-token": csrf})
    assert made.status_code == 201
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/users/me").status_code == 401


def test_tokens_are_shown_once_and_revocable(client, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    created = client.post(
        "/api/users/me/tokens", json={"name": "ci", "expires_in_days": 30}, headers=person.headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    listed = client.get("/api/users/me/tokens", headers=person.headers).json()
    assert all("token" not in row for row in listed)
    assert token not in str(listed)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/users/me", headers=bearer).status_code == 200
    revoke = client.delete(f"/api/users/me/tokens/{created.json()['id']}", headers=person.headers)
    assert revoke.status_code == 204
    answer = client.get("/api/users/me", headers=bearer)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]["message"]
    garbage = client.get("/api/users/me", headers={"Authorization": "Bearer tsp_garbage"})
    assert garbage.status_code == 401


def test_expired_token_is_refused(client, make_person, db) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from backend.accounts.models import AccessToken
    from backend.core.db import utcnow

    person = make_person()
    token = client.post(
        "/api/users/me/tokens", json={"name": "short"}, headers=person.headers
    ).json()
    row = db.get(AccessToken, token["id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    answer = client.get("/api/users/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]["message"]


def test_change_password(client, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    wrong = client.post(
        "/api/users/me/password",
        json={"current_password": "wrong-password-1", "new_password": "Brand-new-pass-42"},
        headers=person.headers,
    )
    assert wrong.status_code == 400 and wrong.json()["detail"]["field"] == "current_password"
    weak = client.post(
        "/api/users/me/password",
        json={"current_password": person.password, "new_password": "short"},
        headers=person.headers,
    )
    assert weak.status_code == 422 and weak.json()["detail"]["field"] == "new_password"
    ok = client.post(
        "/api/users/me/password",
        json={"current_password": person.password, "new_password": "Brand-new-pass-42"},
        headers=person.headers,
    )
    assert ok.status_code == 204
    client.cookies.clear()
    old = client.post(
        "/api/auth/login", json={"username": person.username, "password": person.password}
    )
    assert old.status_code == 401
    new = client.post(
        "/api/auth/login", json={"username": person.username, "password": "Brand-new-pass-42"}
    )
    assert new.status_code == 200


def test_api_key_is_not_a_user_credential(client, make_project) -> None:  # type: ignore[no-untyped-def]
    project_id, people = make_project()
    key = client.post(
        f"/api/projects/{project_id}/api-keys", json={"name": "board"},
        headers=people["owner"].headers,
    ).json()["key"]  # fmt: skip
    for headers in ({"x-api-key": key}, {"Authorization": f"Bearer {key}"}):
        assert client.get("/api/users/me", headers=headers).status_code == 401
        assert client.get(f"/api/projects/{project_id}", headers=headers).status_code == 401
    device = client.get("/api/device/project", headers={"x-api-key": key})
    assert device.status_code == 200 and device.json()["project_id"] == project_id
