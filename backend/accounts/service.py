"""Account operations: registration, log-in with throttling, sessions, tokens, passwords."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import AccessToken, BrowserSession, LoginThrottle, User
from backend.accounts.passwords import password_problem
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import ApiError, bad_request, conflict, not_found
from backend.core.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    hash_token,
    new_token,
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
        raise ApiError(422, "weak_password", problem, field="password")
    _refuse_taken(db, username, email)
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        # Someone registered the same name or email in between: the unique columns said so.
        db.rollback()
        _refuse_taken(db, username, email)
        raise
    return user


def _refuse_taken(db: Session, username: str, email: str) -> None:
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise conflict("username_taken", f"the username {username!r} is already taken")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise conflict("email_taken", f"the email {email!r} is already registered")


THROTTLE_WINDOW = timedelta(hours=1)


def _account_key(user: User | None, login: str) -> str:
    """The throttle key of whoever `login` names: the account, whichever identifier was typed.

    An unknown name gets a key of its own, so it locks like an account and answers alike.
    """
    if user is not None:
        return f"account:{user.id}"
    return f"name:{login.strip().lower()}"[:254]


def _address_key(address: str) -> str:
    return f"address:{address}"[:254]


def check_throttle(*, db: Session, keys: list[str]) -> None:
    """Refuses a log-in attempt while its account or client address is locked."""
    now = utcnow()
    waits = [
        row.locked_until - now
        for row in db.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        if row.locked_until is not None and row.locked_until > now
    ]
    if waits:
        wait = int(max(waits).total_seconds()) + 1
        error = ApiError(
            429,
            "too_many_attempts",
            f"too many failed log-ins; try again in {wait} seconds",
            retry_after=wait,
        )
        error.headers = {"Retry-After": str(wait)}
        raise error


def record_failure(*, db: Session, key: str, limit: int, settings: Settings) -> None:
    """Counts a failed log-in against `key`, locking it once `limit` failures fall in the window."""
    row = db.get(LoginThrottle, key) or LoginThrottle(key=key, failures=0)
    now = utcnow()
    if row.last_failure_at is not None and now - row.last_failure_at > THROTTLE_WINDOW:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - limit
    if over >= 0:
        # Each further failure doubles the wait, up to an hour.
        seconds = min(settings.login_lockout_seconds * 2**over, 3600)
        row.locked_until = now + timedelta(seconds=seconds)
    db.merge(row)


def authenticate(
    *, db: Session, login: str, password: str, address: str, settings: Settings
) -> User:
    """The user whose credentials these are; one vague 401 otherwise, never a hint which part.

    Failures count per account and per client address (a higher limit, so one address
    cannot try a password against many names); either lock answers 429 with Retry-After.
    """
    user = get_by_login(db=db, login=login)
    account_key, address_key = _account_key(user, login), _address_key(address)
    check_throttle(db=db, keys=[account_key, address_key])
    ok = verify_password(user.password_hash if user else DUMMY_PASSWORD_HASH, password)
    if user is None or not ok:
        record_failure(db=db, key=account_key, limit=settings.login_max_failures, settings=settings)
        record_failure(
            db=db, key=address_key, limit=settings.login_max_failures_per_address,
            settings=settings,
        )  # fmt: skip
        db.commit()
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    # The address keeps its count: one good log-in must not reset a guesser's budget.
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key))
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
        raise ApiError(422, "weak_password", problem, field="new_password")
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
