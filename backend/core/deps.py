"""Typed dependencies every route builds on: the session, the caller, the project and its role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import AccessToken, BrowserSession, User
from backend.core.config import Settings, get_settings
from backend.core.db import get_db, utcnow
from backend.core.errors import ApiError, forbidden, not_found, unauthorized
from backend.core.security import csrf_token_for, hash_token, tokens_equal
from backend.projects.models import ApiKey, Membership, Project, Role

SESSION_COOKIE = "tinystudio_session"
CSRF_COOKIE = "tinystudio_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_KEY_PREFIX = "tsk"
ACCESS_TOKEN_PREFIX = "tsp"

# Ids are INTEGER columns, 32-bit on PostgreSQL: a larger number cannot name a row, so it is
# refused as invalid input (422) before it reaches the database.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def access(rule: str) -> dict[str, Any]:
    """Declares a route's access rule in the OpenAPI schema (checked by the authorization test).

    Rules: `public`, `user`, `admin` (site admin), `apikey` (project API key), `device` (a
    fleet device's own key) and `project:<role>` (a member of the project with at least that
    role).
    """
    return {"x-access": rule}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def get_current_user(request: Request, db: SessionDep, settings: SettingsDep) -> User:
    """The caller, from a bearer personal access token or a browser session cookie."""
    now = utcnow()
    token = bearer_token(request)
    if token is not None:
        if token.startswith(API_KEY_PREFIX + "_"):
            raise unauthorized("project API keys only work on ingestion and device routes")
        row = db.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            raise unauthorized("invalid or revoked access token")
        if row.expires_at is not None and row.expires_at <= now:
            raise unauthorized("access token expired")
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now
            db.commit()
        request.state.auth = "token"
        return row.user

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise unauthorized()
    session = db.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(cookie))
    )
    if session is None or session.expires_at <= now:
        raise unauthorized("session expired; log in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not tokens_equal(sent, csrf_token_for(cookie, settings.secret_key)):
            raise ApiError(403, "csrf_failed", f"missing or wrong {CSRF_HEADER} header")
    if now - session.last_seen_at > timedelta(minutes=5):
        session.last_seen_at = now
        db.commit()
    user = db.get(User, session.user_id)
    if user is None:
        raise unauthorized()
    request.state.auth = "session"
    request.state.browser_session_id = session.id
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_site_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise forbidden("admin_required", "this action needs a site administrator")
    return user


SiteAdmin = Annotated[User, Depends(get_site_admin)]


@dataclass
class ProjectContext:
    """A project together with the calling member and their role in it."""

    project: Project
    user: User
    role: Role

    def at_least(self, role: Role) -> bool:
        return self.role.rank >= role.rank


def project_access(min_role: Role) -> Callable[..., ProjectContext]:
    """A dependency granting the project to members holding at least `min_role`."""

    def dependency(project_id: Id, user: CurrentUser, db: SessionDep) -> ProjectContext:
        membership = db.scalar(
            select(Membership).where(
                Membership.project_id == project_id, Membership.user_id == user.id
            )
        )
        project = db.get(Project, project_id) if membership else None
        if membership is None or project is None:
            # Outsiders cannot tell a foreign project from a missing one.
            raise not_found("project")
        role = Role(membership.role)
        if role.rank < min_role.rank:
            raise forbidden("role_required", f"this action needs the {min_role} role or higher")
        return ProjectContext(project=project, user=user, role=role)

    dependency.__name__ = f"project_{min_role}"
    return dependency


ProjectViewer = Annotated[ProjectContext, Depends(project_access(Role.viewer))]
ProjectEditor = Annotated[ProjectContext, Depends(project_access(Role.editor))]
ProjectAdmin = Annotated[ProjectContext, Depends(project_access(Role.admin))]
ProjectOwner = Annotated[ProjectContext, Depends(project_access(Role.owner))]


@dataclass
class DeviceContext:
    """A project reached with one of its API keys (ingestion and device routes)."""

    project: Project
    api_key: ApiKey


def get_device_context(request: Request, db: SessionDep) -> DeviceContext:
    key = request.headers.get("x-api-key") or bearer_token(request)
    if not key:
        raise unauthorized("an x-api-key header with a project API key is required")
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(key)))
    if row is None or row.revoked_at is not None:
        raise unauthorized("invalid or revoked API key")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=30):
        row.last_used_at = now
        db.commit()
    project = db.get(Project, row.project_id)
    if project is None:
        raise unauthorized("invalid or revoked API key")
    return DeviceContext(project=project, api_key=row)


DeviceDep = Annotated[DeviceContext, Depends(get_device_context)]
