"""Test set-up: a private data directory and database (SQLite, or PostgreSQL + Redis when
TINYSTUDIO_TEST_POSTGRES_URL and TINYSTUDIO_TEST_REDIS_URL are set), migrated with Alembic."""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    create_postgres_database,
    drop_postgres_database,
)

_DATA_DIR = Path(tempfile.mkdtemp(prefix="tinystudio-test-"))
TEST_DB_NAME = f"tinystudio_test_{uuid.uuid4().hex[:10]}"


# Settings are read from the environment, so it is set before any backend module is imported.
os.environ.update(
    {
        "TINYSTUDIO_ENVIRONMENT": "test",
        "TINYSTUDIO_DATA_DIR": str(_DATA_DIR),
        "TINYSTUDIO_LOGIN_LOCKOUT_SECONDS": "2",
        "TINYSTUDIO_JOB_HEARTBEAT_SECONDS": "0.5",
        "TINYSTUDIO_JOB_STALE_SECONDS": "30",
    }
)
os.environ.pop("TINYSTUDIO_DATABASE_URL", None)
os.environ.pop("TINYSTUDIO_BROKER_URL", None)
if POSTGRES_ADMIN_URL:
    os.environ["TINYSTUDIO_DATABASE_URL"] = create_postgres_database(TEST_DB_NAME)
if REDIS_URL:
    os.environ["TINYSTUDIO_BROKER_URL"] = REDIS_URL


def pytest_report_header() -> str:
    return (
        f"tinystudio: database={'postgresql' if POSTGRES_ADMIN_URL else 'sqlite'} "
        f"broker={'redis' if REDIS_URL else 'sqlite'} data={_DATA_DIR}"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    shutil.rmtree(_DATA_DIR, ignore_errors=True)
    if POSTGRES_ADMIN_URL:
        from backend.core.db import get_engine

        get_engine().dispose()
        drop_postgres_database(TEST_DB_NAME)


@pytest.fixture(scope="session")
def migrated() -> None:
    """The test database, migrated to head with the real migrations."""
    if REDIS_URL:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    from backend.core.migrate import upgrade

    upgrade()


@pytest.fixture(scope="session")
def app(migrated: None):  # type: ignore[no-untyped-def]
    from backend.main import create_app

    return create_app()


@pytest.fixture()
def client(app) -> Iterator:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def db(migrated: None) -> Iterator:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker

    with get_sessionmaker()() as session:
        yield session


_counter = itertools.count(1)


@dataclass
class Person:
    """A registered user and the headers that authenticate them with a personal access token."""

    id: int
    username: str
    email: str
    password: str
    headers: dict[str, str]


@pytest.fixture()
def make_person(migrated: None):  # type: ignore[no-untyped-def]
    """Factory: a user with a personal access token, created through the services."""
    from backend.accounts import service
    from backend.core.db import get_sessionmaker

    def make(prefix: str = "user", *, is_admin: bool = False) -> Person:
        n = next(_counter)
        username = f"{prefix}{n}-{uuid.uuid4().hex[:6]}"
        password = f"Sturdy-pass-{uuid.uuid4().hex[:8]}"
        with get_sessionmaker()() as session:
            user = service.create_user(
                db=session, username=username, email=f"{username}@example.com",
                password=password, is_admin=is_admin,
            )  # fmt: skip
            _, token = service.create_token(db=session, user=user, name="tests", expires_in_days=1)
            session.commit()
            return Person(
                id=user.id, username=username, email=user.email, password=password,
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip

    return make


@pytest.fixture()
def make_project(make_person):  # type: ignore[no-untyped-def]
    """Factory: a project owned by a new person, optionally with members of given roles."""
    from backend.core.db import get_sessionmaker
    from backend.projects import service
    from backend.projects.models import Membership, Role

    def make(*roles: str, name: str = "Gestures") -> tuple[int, dict[str, Person]]:
        from backend.accounts.models import User

        people = {"owner": make_person("owner")} | {role: make_person(role) for role in roles}
        with get_sessionmaker()() as session:
            project = service.create(
                db=session, owner=session.get(User, people["owner"].id), name=name, description=""
            )
            for role in roles:
                session.add(
                    Membership(project_id=project.id, user_id=people[role].id, role=Role(role))
                )
            session.commit()
            return project.id, people

    return make


@pytest.fixture(scope="session")
def worker(migrated: None) -> Iterator:  # type: ignore[no-untyped-def]
    """A real Celery worker (solo pool, in a thread) on the configured broker."""
    from celery.contrib.testing.worker import start_worker

    from backend.jobs.celery_app import ALL_QUEUES, celery_app

    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        queues=list(ALL_QUEUES),
        shutdown_timeout=30,
    ) as controller:
        yield controller


DEMO_DIR = (
    Path(__file__).resolve().parents[1] / "backend" / "datasets" / "demo_data" / "basic-motions"
)


@pytest.fixture()
def upload_demo():  # type: ignore[no-untyped-def]
    """Factory: uploads BasicMotions CSVs of some labels into a project, keeping their split."""

    def upload(
        client, project_id: int, headers, count: int = 4, labels=("walking", "standing")
    ) -> None:  # type: ignore[no-untyped-def]
        for folder in ("training", "testing"):
            files = [
                ("files", (path.name, path.read_bytes(), "text/csv"))
                for label in labels
                for path in sorted((DEMO_DIR / folder).glob(f"{label}.*.csv"))[:count]
            ]
            answer = client.post(
                f"/api/projects/{project_id}/samples/upload", headers=headers, files=files,
                data={"category": folder},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text

    return upload


@pytest.fixture()
def wait_job():  # type: ignore[no-untyped-def]
    """Polls a job over the API until it finishes; returns its last state."""
    import time

    def wait(client, project_id: int, job_id: int, headers, timeout: float = 300) -> dict:  # type: ignore[no-untyped-def, type-arg]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = client.get(f"/api/projects/{project_id}/jobs/{job_id}", headers=headers).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job  # type: ignore[no-any-return]
            time.sleep(0.25)
        raise AssertionError(f"job {job_id} did not finish within {timeout} s")

    return wait


@pytest.fixture(scope="session")
def s3_server() -> Iterator:  # type: ignore[type-arg]
    """moto's S3-compatible server in its own process, for the whole run."""
    from tests.s3server import start_s3_server

    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture()
def s3_blobs(s3_server, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def, type-arg]
    """The studio keeps its blobs in a fresh folder of a bucket on moto's server."""
    from tests.s3server import studio_blobs, unique_url

    with studio_blobs(s3_server.settings(unique_url()), tmp_path / "blob-cache"):
        yield s3_server


@pytest.fixture(params=["local", "s3"])
def blob_backend(request, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Runs a test with the local blob directory, then with an S3 bucket on moto's server."""
    if request.param == "local":
        yield "local"
        return
    from tests.s3server import studio_blobs, unique_url

    server = request.getfixturevalue("s3_server")
    with studio_blobs(server.settings(unique_url()), tmp_path / "blob-cache"):
        yield "s3"
