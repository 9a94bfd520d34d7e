"""The services the tests may share with other processes: PostgreSQL and Redis, named by
TINYSTUDIO_TEST_POSTGRES_URL and TINYSTUDIO_TEST_REDIS_URL (SQLite and the embedded broker
without them)."""

from __future__ import annotations

import os

POSTGRES_ADMIN_URL = os.environ.get("TINYSTUDIO_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TINYSTUDIO_TEST_REDIS_URL")


def postgres_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def create_postgres_database(name: str) -> str:
    """Creates an empty database on the tests' server; its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres_url(name)


def drop_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
