"""The password rule: at least 10 characters and not one of the 10,000 most common passwords."""

from __future__ import annotations

import uuid

from click.testing import CliRunner

RULE = "choose a password of at least 10 characters that is not a common password"
# Long enough, yet among the most common passwords; case must not matter.
COMMON_LONG = ["manchester", "Q1W2E3R4T5", "Terminator", "1qaz2wsx3edc"]


def _identity() -> dict[str, str]:
    name = f"alan-{uuid.uuid4().hex[:8]}"
    return {"username": name, "email": f"{name}@example.com", "password": "Turing-machine-1936"}


def test_shipped_list_holds_ten_thousand_passwords() -> None:
    from backend.accounts.passwords import common_passwords

    listed = common_passwords()
    assert len(listed) == 10_000
    assert {"123456", "password", "qwertyuiop", "manchester"} <= listed


def test_sign_up_refuses_short_and_common_passwords(client) -> None:  # type: ignore[no-untyped-def]
    identity = _identity()
    for weak in ["", "Short-1", *COMMON_LONG]:
        answer = client.post("/api/auth/register", json={**identity, "password": weak})
        assert answer.status_code == 422, weak
        detail = answer.json()["detail"]
        assert (detail["code"], detail["message"], detail["field"]) == (
            "weak_password",
            RULE,
            "password",
        )
    assert client.post("/api/auth/register", json=identity).status_code == 201


def test_password_change_applies_the_rule(client, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    answer = client.post(
        "/api/users/me/password",
        json={"current_password": person.password, "new_password": "MANCHESTER"},
        headers=person.headers,
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert (detail["message"], detail["field"]) == (RULE, "new_password")


def test_admin_create_user_applies_the_rule(migrated) -> None:  # type: ignore[no-untyped-def]
    from backend.cli import main

    identity = _identity()
    answer = CliRunner().invoke(
        main,
        ["admin", "create-user", "--username", identity["username"],
         "--email", identity["email"], "--password", "Terminator"],
    )  # fmt: skip
    assert answer.exit_code != 0
    assert RULE in answer.output
