"""Invitations made before the typed username was kept get it back from their account."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from backend.core.migrate import downgrade, upgrade

BEFORE, AFTER = "30f20f3d2914", "a1hardening"
NOW = "2026-12-01 00:00:00"


def test_earlier_invitations_keep_the_name_they_were_sent_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'invitations.sqlite'}"
    upgrade(url, BEFORE)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, email, full_name, password_hash, is_admin, "
                "created_at, password_changed_at) VALUES (1, 'bob', 'bob@example.com', '', 'x', "
                "0, :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO projects (id, name, description, hmac_key, created_at, updated_at) "
                "VALUES (1, 'Motion', '', 'k', :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO invitations (id, project_id, invitee_user_id, invitee_email, role, "
                "status, created_at) VALUES (1, 1, 1, NULL, 'viewer', 'pending', :now), "
                "(2, 1, NULL, 'new@example.com', 'viewer', 'pending', :now)"
            ),
            {"now": NOW},
        )
    upgrade(url, AFTER)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, invitee_username, invitee_email FROM invitations ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(1, "bob", None), (2, None, "new@example.com")]

    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO invitations (id, project_id, invitee_username, role, status, "
                "created_at) VALUES (3, 1, 'nobody', 'viewer', 'pending', :now)"
            ),
            {"now": NOW},
        )
    downgrade(url, BEFORE)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT id FROM invitations ORDER BY id")).scalars().all()
    engine.dispose()
    assert left == [1, 2]
