"""The password rule: long enough, not a common password, not the user's own name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
WEAK_PASSWORD_MESSAGE = (
    f"choose a password of at least {MIN_PASSWORD_LENGTH} characters that is not a common password"
)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` is not acceptable, or None if it is."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters long"
    lowered = password.strip().lower()
    # Very few distinct characters ("aaaaaaaaaa", "abababab…") is as guessable as a listed one.
    if (
        len(password) < MIN_PASSWORD_LENGTH
        or lowered in common_passwords()
        or len(set(lowered)) < 4
    ):
        return WEAK_PASSWORD_MESSAGE
    for part in (username.lower(), email.lower().split("@")[0]):
        if part and len(part) >= 3 and part in lowered:
            return "choose a password that does not contain your username or email"
    return None
