"""invitations keep the username that was typed, so they never show whose account they reached

Revision ID: a1hardening
Revises: 30f20f3d2914
Create Date: 2026-12-05 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1hardening"
down_revision: str | None = "30f20f3d2914"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invitations", sa.Column("invitee_username", sa.String(64), nullable=True))
    # Earlier invitations by username kept only the account: its name is what was typed.
    op.execute(
        "UPDATE invitations SET invitee_username = "
        "(SELECT username FROM users WHERE users.id = invitations.invitee_user_id) "
        "WHERE invitee_email IS NULL AND invitee_user_id IS NOT NULL"
    )


def downgrade() -> None:
    # Invitations to unknown usernames have no account to point at once the name is gone.
    op.execute("DELETE FROM invitations WHERE invitee_user_id IS NULL AND invitee_email IS NULL")
    op.drop_column("invitations", "invitee_username")
