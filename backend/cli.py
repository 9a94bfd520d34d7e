"""The `tinystudio` command: run the studio and its workers, manage the database and users."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import uvicorn

# Set in the environment of the worker that `up` starts: the process it must not outlive.
UP_PID_ENV = "TINYSTUDIO_UP_PID"
ORPHAN_GRACE_SECONDS = 5.0


def _apply_overrides(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Command-line options win over TINYSTUDIO_* variables; child processes inherit them."""
    if host:
        os.environ["TINYSTUDIO_HOST"] = host
    if port:
        os.environ["TINYSTUDIO_PORT"] = str(port)
    if data_dir:
        os.environ["TINYSTUDIO_DATA_DIR"] = str(data_dir.expanduser().resolve())
    from backend.core.config import get_settings

    get_settings.cache_clear()


def _settings():  # type: ignore[no-untyped-def]
    from backend.core.config import get_settings

    try:
        return get_settings()
    except Exception as exc:  # pydantic's message names the bad setting
        raise click.ClickException(f"invalid settings: {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """TinyStudio: a self-hosted TinyML studio."""


@main.command()
@click.option("--host", help="Address to listen on (TINYSTUDIO_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (TINYSTUDIO_PORT, default 8321).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the database, blobs and broker live (TINYSTUDIO_DATA_DIR).",
)
@click.option("--no-worker", is_flag=True, help="Serve the API only; run workers elsewhere.")
def up(host: str | None, port: int | None, data_dir: Path | None, no_worker: bool) -> None:
    """Start the studio: API, browser app and a worker, on one port."""
    _apply_overrides(host, port, data_dir)
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from backend.core.migrate import upgrade

    upgrade()
    worker: subprocess.Popen[bytes] | None = None
    if not no_worker:
        worker = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker"],
            start_new_session=True,  # Ctrl-C reaches it through us, so it stops after the API
            env={**os.environ, UP_PID_ENV: str(os.getpid())},
        )
    from backend.main import create_app

    server = _make_server(
        uvicorn.Config(
            create_app(),
            host=settings.host,
            port=settings.port,
            log_level="info",
            timeout_graceful_shutdown=5,
        )  # fmt: skip
    )
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{shown_host}:{settings.port}"
    click.echo(f"TinyStudio is running at {url}  (data: {settings.data_dir})  Ctrl-C stops it.")
    try:
        server.run()
    finally:
        if worker is not None:
            _stop(worker)
    click.echo("TinyStudio stopped.")
    if not server.started:
        raise SystemExit(1)


def _make_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, but Ctrl-C and SIGTERM only ask it to stop, so the worker stops too."""

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {
                sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


def _stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stops a child process group: warm shutdown first, then kill."""
    if process.poll() is not None:
        return
    try:
        process.terminate()  # Celery's warm shutdown stops its own pool processes
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


@main.command()
@click.option(
    "--queues", "-Q", default="light,training,build", show_default=True,
    help="Comma-separated queues to consume.",
)  # fmt: skip
@click.option(
    "--concurrency", "-c", type=int, help="Worker processes (TINYSTUDIO_WORKER_CONCURRENCY)."
)
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str, concurrency: int | None, pool: str, loglevel: str) -> None:
    """Run a job worker (Celery) on the configured broker."""
    settings = _settings()
    if UP_PID_ENV in os.environ:
        _end_with_up(int(os.environ[UP_PID_ENV]))
    os.environ["TINYSTUDIO_WORKER_QUEUES"] = queues  # the pool processes warm up for these
    from backend.jobs.celery_app import celery_app

    argv = [
        "worker", "-Q", queues, "--pool", pool, "--loglevel", loglevel,
        "--concurrency", str(concurrency or settings.worker_concurrency),
        "--without-gossip", "--without-mingle", *monitoring_flags(settings.resolved_broker_url),
        "-n", f"tinystudio-{os.getpid()}@%h",
    ]  # fmt: skip
    celery_app.worker_main(argv=argv)


def monitoring_flags(broker_url: str) -> list[str]:
    """On a real broker a worker sends events and heartbeats, so Flower's Workers page lists it
    online with its tasks. The embedded broker is polled from a SQLite file, where every event
    is a write: there the worker stays quiet."""
    if broker_url.startswith("sqla+"):
        return ["--without-heartbeat"]
    return ["--task-events"]


def _end_with_up(up_pid: int) -> None:
    """A worker started by `up` ends with it, even when `up` is killed, and so does its pool."""
    from celery.signals import worker_process_init

    from backend.core.lifetime import die_with_parent, watch_parent

    # SIGTERM stops taking jobs; a job still running after the grace is cut short with the
    # worker's process group (its session, see `up`), and the job reaper recovers it.
    die_with_parent(up_pid, kill_group_after=ORPHAN_GRACE_SECONDS)

    # Celery has the kernel kill each pool process with the worker; the watch is the fallback.
    def watch_worker(**_: object) -> None:
        watch_parent(os.getppid())

    worker_process_init.connect(watch_worker, weak=False)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    settings = _settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    from backend.core.migrate import upgrade

    upgrade(revision=revision)
    click.echo(f"database at {revision}")


@main.group()
def admin() -> None:
    """Administration of a TinyStudio installation."""


@admin.command("create-user")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin/--no-admin", "is_admin", default=True, show_default=True)
def create_user(username: str, email: str, password: str, is_admin: bool) -> None:
    """Create a user (a site administrator unless --no-admin)."""
    from pydantic import ValidationError

    from backend.accounts import service
    from backend.accounts.schemas import RegisterIn
    from backend.core.db import get_sessionmaker
    from backend.core.errors import ApiError
    from backend.core.migrate import upgrade

    _settings().data_dir.mkdir(parents=True, exist_ok=True)
    upgrade()
    try:
        body = RegisterIn(username=username, email=email, password=password)
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        ) from exc
    with get_sessionmaker()() as session:
        try:
            user = service.create_user(
                db=session, username=body.username, email=body.email,
                password=body.password, is_admin=is_admin,
            )  # fmt: skip
            session.commit()
        except ApiError as exc:
            raise click.ClickException(str(exc.detail.get("message"))) from exc  # type: ignore[attr-defined]
    click.echo(f"created user {user.username}{' (admin)' if is_admin else ''}")


@admin.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Keep unreferenced blobs younger than this (uploads whose row is not written yet).",
)
def collect_garbage(dry_run: bool, grace_hours: float) -> None:
    """Remove blobs no row refers to (and artifacts of failed jobs), printing each and the bytes."""
    from datetime import timedelta

    from backend.core import gc
    from backend.core.blobs import get_blob_store
    from backend.core.db import get_sessionmaker
    from backend.core.migrate import upgrade

    _settings().data_dir.mkdir(parents=True, exist_ok=True)
    upgrade()
    with get_sessionmaker()() as session:
        outcome = gc.collect(
            db=session,
            store=get_blob_store(),
            grace=timedelta(hours=grace_hours),
            dry_run=dry_run,
        )
    for line in gc.describe(outcome, dry_run=dry_run):
        click.echo(line)


@admin.command("migrate-blobs")
@click.option(
    "--to", "url", required=True, metavar="s3://BUCKET/PREFIX",
    help="The bucket (and folder) to copy into; reached with the TINYSTUDIO_BLOB_S3_* settings.",
)  # fmt: skip
@click.option(
    "--from", "source_dir", type=click.Path(file_okay=False, path_type=Path),
    help="The local blob directory to copy (default: TINYSTUDIO_BLOB_DIR or <data dir>/blobs).",
)  # fmt: skip
@click.option(
    "--verify-only", is_flag=True, help="Copy nothing; list blobs whose copy is missing or differs."
)
def migrate_blobs(url: str, source_dir: Path | None, verify_only: bool) -> None:
    """Copy the local blob store into an S3-compatible bucket, checking every copy's sha256.

    A rerun skips blobs already there with the same bytes. Exits 1 listing any blob whose copy
    differs. Then set TINYSTUDIO_BLOB_URL to the same s3:// URL.
    """
    from backend.core.blobs import BlobStoreUnavailable, LocalBlobStore, store_for
    from backend.core.blobs.migrate import blobs_to_copy, migrate

    settings = _settings()
    if not url.startswith("s3://"):
        raise click.BadParameter("give an s3://bucket/prefix URL", param_hint="--to")
    source = LocalBlobStore(source_dir or settings.resolved_blob_dir)
    if not source.root.is_dir():
        raise click.ClickException(f"no blob directory at {source.root}")
    try:
        target = store_for(settings, url)
        blobs = blobs_to_copy(source)
        label = "verifying" if verify_only else "copying"
        with click.progressbar(
            length=sum(b.size_bytes for b in blobs), label=f"{label} {len(blobs)} blobs",
            show_pos=True, file=sys.stderr,
        ) as bar:  # fmt: skip
            outcome = migrate(
                source, target, blobs, verify_only=verify_only,
                done=lambda blob: bar.update(blob.size_bytes),
            )  # fmt: skip
    except (BlobStoreUnavailable, ValueError) as exc:
        detail = getattr(exc, "detail", None)
        raise click.ClickException(detail["message"] if detail else str(exc)) from exc
    click.echo(
        f"{target.location}: {outcome.copied} copied ({outcome.bytes_copied} bytes), "
        f"{outcome.skipped} already there, {len(outcome.mismatched)} missing or differing"
    )
    if outcome.mismatched:
        for key in outcome.mismatched:
            click.echo(f"differs: {key}", err=True)
        raise SystemExit(1)


@main.command()
def openapi() -> None:
    """Print the API's OpenAPI schema (the browser app's client is generated from it)."""
    import json

    from backend.main import create_app

    click.echo(json.dumps(create_app().openapi(), indent=1, sort_keys=True))


def _register_commands() -> None:
    """Commands that live beside their domain."""
    from backend.datasets.cli import demo_command, upload_command
    from backend.devices.forwarder import forward_command
    from workers.compiler.cli import compile_command

    for command in (demo_command, upload_command, forward_command, compile_command):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
