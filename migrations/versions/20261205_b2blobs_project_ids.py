"""project ids are never reused on SQLite (AUTOINCREMENT), so blob folders are never shared

Revision ID: b2blobs
Revises: a1hardening
Create Date: 2026-12-05 08:50:00
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "b2blobs"
down_revision: str | None = "a1hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table constraint the first migration wrote, and the column AUTOINCREMENT goes on.
_TABLE_PK = re.compile(r",\s*CONSTRAINT pk_projects PRIMARY KEY \(id\)")
_ID_COLUMN = "id INTEGER NOT NULL,"
_ID_AUTOINCREMENT = "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,"


def _rewrite_projects_sql(change) -> None:  # type: ignore[no-untyped-def]
    """Rewrites the stored CREATE TABLE of `projects` in place.

    AUTOINCREMENT only changes how SQLite picks new ids, not how rows are stored, so the
    schema text may be edited (SQLite's documented procedure for such changes). Recreating
    the table instead would delete every project's rows through ON DELETE CASCADE, since
    foreign keys cannot be switched off inside the migration's transaction."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projects'"
    ).scalar_one()
    new_sql = change(sql)
    if new_sql == sql:
        raise RuntimeError(f"unexpected schema of the projects table: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'projects'", (new_sql,)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the database failed its integrity check: {problems}")


def _add_autoincrement(sql: str) -> str:
    if _ID_COLUMN not in sql or not _TABLE_PK.search(sql):
        return sql
    return _TABLE_PK.sub("", sql.replace(_ID_COLUMN, _ID_AUTOINCREMENT, 1), count=1)


def _drop_autoincrement(sql: str) -> str:
    if _ID_AUTOINCREMENT not in sql:
        return sql
    sql = sql.replace(_ID_AUTOINCREMENT, _ID_COLUMN, 1)
    end = sql.rindex(")")
    return sql[:end].rstrip() + ", \n\tCONSTRAINT pk_projects PRIMARY KEY (id)\n)"


def upgrade() -> None:
    # PostgreSQL sequences never hand out an id twice; only SQLite needs the change.
    if op.get_bind().dialect.name != "sqlite":
        return
    _rewrite_projects_sql(_add_autoincrement)
    bind = op.get_bind()
    # sqlite_sequence exists once any AUTOINCREMENT table was created; make sure it does.
    bind.exec_driver_sql("CREATE TABLE _sequence_seed (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    bind.exec_driver_sql("DROP TABLE _sequence_seed")
    # Start above every id used so far, even when the highest project is deleted next.
    bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'projects'")
    bind.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'projects', coalesce(max(id), 0) "
        "FROM projects"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.get_bind().exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'projects'")
    _rewrite_projects_sql(_drop_autoincrement)
