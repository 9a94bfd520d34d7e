"""Password hashing (argon2), opaque tokens stored as hashes, and CSRF tokens bound to sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
_COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password12", "password123", "1234567890", "0123456789",
        "qwertyuiop", "letmein123", "iloveyou12", "administrator", "tinystudio", "welcome123",
    }
)  # fmt: skip


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the user does not exist, so timing does not tell which part
# of the credentials was wrong.
DUMMY_PASSWORD_HASH = _hasher.hash(secrets.token_urlsafe(16))


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` is too weak, or None if it is acceptable."""
    if not password or not password.strip():
        return "password must not be empty"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > 1024:
        return "password must be at most 1024 characters long"
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 4:
        return "password is too easy to guess"
    for part in (username.lower(), email.lower().split("@")[0]):
        if part and len(part) >= 3 and part in lowered:
            return "password must not contain the username or email"
    return None


def new_token(prefix: str) -> str:
    """A fresh opaque token such as `tsp_…`; only its hash is ever stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token: str, secret_key: str) -> str:
    """The CSRF token that belongs to one browser session (double-submit, bound by HMAC)."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
