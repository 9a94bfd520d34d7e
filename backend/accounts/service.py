"""Account operations: registration, log-in with throttling, sessions, tokens, passwords."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from backend.accounts.models import AccessToken, BrowserSession, LoginThrottle, User
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import ApiError, bad_request, conflict, not_found
from backend.core.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    hash_token,
    new_token,
    password_problem,
    verify_password,
)


def get_by_login(*, db: Session, login: str) -> User | None:
    """Gets a user by username or email."""
    login = login.strip().lower()
    return db.scalar(select(User).where(or_(User.username == login, User.email == login)))


def create_user(
    *,
    db: Session,
    username: str,
    email: str,
    password: str,
    full_name: str = "",
    is_admin: bool = False,
) -> User:
    """Creates a user after checking the password and that username and email are free."""
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise bad_request("weak_password", problem, field="password")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise conflict("username_taken", f"the username {username!r} is already taken")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise conflict("email_taken", f"the email {email!r} is already registered")
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.add(user)
    db.flush()
    return user


def _throttle_key(login: str) -> str:
    return login.strip().lower()[:254]


def check_throttle(*, db: Session, login: str) -> None:
    """Refuses a log-in attempt while the name is locked after repeated failures."""
    row = db.get(LoginThrottle, _throttle_key(login))
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        wait = int((row.locked_until - now).total_seconds()) + 1
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed log-ins; try again in {wait} seconds",
            retry_after=wait,
        )


def record_failure(*, db: Session, login: str, settings: Settings) -> None:
    key = _throttle_key(login)
    row = db.get(LoginThrottle, key) or LoginThrottle(key=key, failures=0)
    now = utcnow()
    if row.last_failure_at is not None and now - row.last_failure_at > timedelta(hours=1):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - settings.login_max_failures
    if over >= 0:
        # Each further failure doubles the wait, up to an hour.
        seconds = min(settings.login_lockout_seconds * 2**over, 3600)
        row.locked_until = now + timedelta(seconds=seconds)
    db.merge(row)
    db.commit()


def authenticate(*, db: Session, login: str, password: str, settings: Settings) -> User:
    """The user whose credentials these are; one vague 401 otherwise, never a hint which part."""
    check_throttle(db=db, login=login)
    user = get_by_login(db=db, login=login)
    ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
    if user is None or not ok:
        record_failure(db=db, login=login, settings=settings)
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == _throttle_key(login)))
    return user


def open_session(*, db: Session, user: User, settings: Settings) -> str:
    """Starts a browser session; returns the cookie token (only its hash is stored)."""
    token = new_token("tss")
    db.add(
        BrowserSession(
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(days=settings.session_days),
        )
    )
    return token


def close_session(*, db: Session, token: str) -> None:
    db.execute(delete(BrowserSession).where(BrowserSession.token_hash == hash_token(token)))


def change_password(
    *, db: Session, user: User, current: str, new: str, keep_session_id: int | None
) -> None:
    """Changes the password and ends every other browser session of the user."""
    if not verify_password(user.password_hash, current):
        raise bad_request(
            "wrong_password", "the current password is wrong", field="current_password"
        )
    problem = password_problem(new, username=user.username, email=user.email)
    if problem:
        raise bad_request("weak_password", problem, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    stale = delete(BrowserSession).where(BrowserSession.user_id == user.id)
    if keep_session_id is not None:
        stale = stale.where(BrowserSession.id != keep_session_id)
    db.execute(stale)


def update_profile(*, db: Session, user: User, full_name: str | None, email: str | None) -> None:
    if email is not None:
        email = email.strip().lower()
        taken = db.scalar(select(User.id).where(User.email == email, User.id != user.id))
        if taken is not None:
            raise conflict("email_taken", f"the email {email!r} is already registered")
        user.email = email
    if full_name is not None:
        user.full_name = full_name


def create_token(
    *, db: Session, user: User, name: str, expires_in_days: int | None
) -> tuple[AccessToken, str]:
    """Creates a personal access token; the plain token is returned once, never stored."""
    token = new_token("tsp")
    row = AccessToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:8],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(row)
    db.flush()
    return row, token


def revoke_token(*, db: Session, user: User, token_id: int) -> AccessToken:
    row = db.get(AccessToken, token_id)
    if row is None or row.user_id != user.id:
        raise not_found("access token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
