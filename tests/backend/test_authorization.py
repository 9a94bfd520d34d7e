"""Walks every route of the OpenAPI schema as every kind of caller and checks its access rule.

A route without an `x-access` declaration fails this test until its rule is declared."""

from __future__ import annotations

import re
from typing import Any

import pytest

ROLES = ["viewer", "editor", "admin", "owner"]
CALLERS = ["anonymous", "apikey", "outsider", *ROLES]
RULE_RE = re.compile(r"^(public|user|admin|apikey|device|project:(viewer|editor|admin|owner))$")


def _routes(app) -> list[tuple[str, str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    schema = app.openapi()
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_route_declares_its_access_rule(app) -> None:  # type: ignore[no-untyped-def]
    undeclared = [
        f"{method} {path}"
        for method, path, operation in _routes(app)
        if not RULE_RE.match(str(operation.get("x-access", "")))
    ]
    assert not undeclared, f"routes without a valid openapi_extra=access(...) rule: {undeclared}"


def _expected_allowed(rule: str, caller: str) -> bool:
    if rule == "public":
        return True
    if rule == "apikey":
        return caller == "apikey"
    if rule == "device":
        return False  # only a registered device's key, which no caller here holds
    if caller in ("anonymous", "apikey"):
        return False
    if rule == "user":
        return True
    if rule == "admin":
        return False  # nobody in this world is a site administrator
    needed = rule.split(":")[1]
    return caller in ROLES and ROLES.index(caller) >= ROLES.index(needed)


def _denial_ok(rule: str, caller: str, status: int, body: Any) -> bool:
    code = (
        body.get("detail", {}).get("code")
        if isinstance(body, dict) and isinstance(body.get("detail"), dict)
        else None
    )
    if caller in ("anonymous", "apikey") or rule in ("apikey", "device"):
        return status == 401
    if rule.startswith("project:"):
        if caller == "outsider":
            return status == 404 and code == "project_not_found"
        return status == 403 and code == "role_required"
    return status == 403


@pytest.fixture(scope="module")
def cast(migrated, make_person_module):  # type: ignore[no-untyped-def]
    return {role: make_person_module(role) for role in ["owner", "outsider", *ROLES[:-1]]}


@pytest.fixture(scope="module")
def make_person_module(migrated):  # type: ignore[no-untyped-def]
    import uuid

    from backend.accounts import service
    from backend.core.db import get_sessionmaker

    def make(prefix: str) -> dict[str, Any]:
        username = f"authz-{prefix}-{uuid.uuid4().hex[:6]}"
        with get_sessionmaker()() as session:
            user = service.create_user(
                db=session, username=username, email=f"{username}@example.com",
                password=f"Walk-the-routes-{uuid.uuid4().hex[:6]}",
            )  # fmt: skip
            _, token = service.create_token(db=session, user=user, name="authz", expires_in_days=1)
            session.commit()
            return {"id": user.id, "headers": {"Authorization": f"Bearer {token}"}}

    return make


def _world(cast: dict[str, Any]) -> tuple[int, str]:
    """A fresh project with one member per role and an API key."""
    from backend.accounts.models import User
    from backend.core.db import get_sessionmaker
    from backend.projects import service
    from backend.projects.models import Membership, Role

    with get_sessionmaker()() as session:
        owner = session.get(User, cast["owner"]["id"])
        project = service.create(db=session, owner=owner, name="Authz", description="")
        for role in ROLES[:-1]:
            session.add(
                Membership(project_id=project.id, user_id=cast[role]["id"], role=Role(role))
            )
        _, key = service.create_api_key(db=session, project=project, actor=owner, name="device")
        session.commit()
        return project.id, key


def test_every_route_allows_and_denies_as_declared(app, client, cast) -> None:  # type: ignore[no-untyped-def]
    failures = []
    # Callers from the least to the most privileged, so destructive calls come last.
    for method, path, operation in _routes(app):
        rule = operation["x-access"]
        project_id, key = _world(cast)
        url = re.sub(r"\{project_id\}", str(project_id), path)
        url = re.sub(r"\{[a-z_]+\}", "999999", url)
        for caller in CALLERS:
            if caller == "anonymous":
                headers: dict[str, str] = {}
            elif caller == "apikey":
                headers = {"x-api-key": key}
            else:
                headers = cast[caller]["headers"]
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = {}
            response = client.request(method, url, **kwargs)
            try:
                body = response.json()
            except ValueError:
                body = None
            allowed = _expected_allowed(rule, caller)
            if allowed:
                denied = response.status_code in (401, 403) or (
                    response.status_code == 404
                    and isinstance(body, dict)
                    and isinstance(body.get("detail"), dict)
                    and body["detail"].get("code") == "project_not_found"
                )
                if denied:
                    failures.append(
                        f"{method} {path} [{rule}] {caller}: denied {response.status_code}"
                    )
            elif not _denial_ok(rule, caller, response.status_code, body):
                failures.append(
                    f"{method} {path} [{rule}] {caller}: "
                    f"expected denial, got {response.status_code}"
                )
    assert not failures, "\n".join(failures)
