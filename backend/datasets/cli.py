"""Dataset commands: `tinystudio demo` (a BasicMotions project) and `tinystudio upload`."""

from __future__ import annotations

from pathlib import Path

import click

DEMO_DIR = Path(__file__).resolve().parent / "demo_data" / "basic-motions"
UPLOAD_SUFFIXES = {".json", ".cbor", ".csv", ".wav", ".wave"}


@click.command("demo")
@click.option("--owner", help="Username that will own the project (default: the only user).")
@click.option("--name", default="BasicMotions demo", show_default=True, help="Project name.")
def demo_command(owner: str | None, name: str) -> None:
    """Create a project holding the BasicMotions dataset (4 activities, 80 samples)."""
    from sqlalchemy import select

    from backend.accounts.models import User
    from backend.core.config import get_settings
    from backend.core.db import get_sessionmaker
    from backend.core.migrate import upgrade
    from backend.datasets import service
    from backend.datasets.formats import UploadError, parse_upload
    from backend.projects import service as projects

    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    upgrade()
    files = sorted(DEMO_DIR.glob("*/*.csv"))
    with get_sessionmaker()() as db:
        if owner:
            user = db.scalar(select(User).where(User.username == owner.lower()))
            if user is None:
                raise click.ClickException(f"no user named {owner!r}")
        else:
            users = list(db.scalars(select(User).limit(2)))
            if len(users) != 1:
                raise click.ClickException(
                    "say which user owns the demo project with --owner USERNAME"
                    if users
                    else "no users yet: register in the browser or run "
                    "`tinystudio admin create-user`"
                )
            user = users[0]
        project = projects.create(
            db=db,
            owner=user,
            name=name,
            description="BasicMotions (UEA): accelerometer + gyroscope at 10 Hz, 10 s per sample.",
        )
        limits = service.upload_limits()
        with click.progressbar(files, label="Adding BasicMotions samples") as bar:
            for path in bar:
                try:
                    parsed = parse_upload(
                        path.name, "text/csv", path.read_bytes(),
                        hmac_key=None, limits=limits,
                    )  # fmt: skip
                except UploadError as exc:
                    raise click.ClickException(str(exc)) from None
                service.store_parsed(
                    db=db, project=project, filename=path.name, parsed=parsed, user=user,
                    options=service.UploadOptions(category=path.parent.name),
                )  # fmt: skip
        db.commit()
        click.echo(
            f"created project {project.id} {name!r} with {len(files)} samples for {user.username}"
        )


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in UPLOAD_SUFFIXES)
        else:
            found.append(path)
    return found


@click.command("upload")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--label", help="Label for every file (default: file name up to the first '.').")
@click.option(
    "--category", type=click.Choice(["training", "testing", "anomaly", "split"]), default="split",
    show_default=True, help="Where the samples go; split = 80/20 by content hash.",
)  # fmt: skip
@click.option(
    "--server", envvar="TINYSTUDIO_SERVER", default="http://127.0.0.1:8321", show_default=True
)
@click.option("--api-key", envvar="TINYSTUDIO_API_KEY", required=True, help="A project API key.")
@click.option("--disallow-duplicates", is_flag=True, help="Skip files already in the project.")
def upload_command(
    paths: tuple[Path, ...], label: str | None, category: str, server: str, api_key: str,
    disallow_duplicates: bool,
) -> None:  # fmt: skip
    """Upload files (or folders of them) to a project through the ingestion API."""
    import httpx

    files = _expand(paths)
    if not files:
        raise click.ClickException("no .json, .cbor, .csv or .wav files found")
    headers = {"x-api-key": api_key}
    if label:
        headers["x-label"] = label
    if disallow_duplicates:
        headers["x-disallow-duplicates"] = "1"
    refused: list[str] = []
    stored = 0
    client = httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=300)
    progress = click.progressbar(files, label=f"Uploading {len(files)} files")
    with client as http, progress as bar:
        for path in bar:
            with path.open("rb") as handle:
                try:
                    answer = http.post(
                        f"/api/{category}/files",
                        files=[("data", (path.name, handle, "application/octet-stream"))],
                    )
                except httpx.TransportError as exc:
                    raise click.ClickException(f"cannot reach {server}: {exc}") from None
            if answer.status_code == 401:
                raise click.ClickException("the server refused the API key")
            try:
                result = answer.json()["files"][0]
            except (ValueError, KeyError, IndexError):
                refused.append(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            if result.get("success"):
                stored += 1
            else:
                refused.append(f"{path}: {result.get('error')}")
    click.echo(f"stored {stored} of {len(files)} files")
    for line in refused:
        click.echo(f"refused {line}", err=True)
    if refused:
        raise SystemExit(1)


__all__ = ["demo_command", "upload_command"]
