"""`tinystudio demo` and `tinystudio upload` as people run them."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import uvicorn
from click.testing import CliRunner

from backend.cli import main
from backend.datasets.cli import DEMO_DIR


def test_demo_creates_basic_motions_project(db, make_person) -> None:  # type: ignore[no-untyped-def]
    from backend.datasets.models import Sample
    from backend.projects.models import Membership

    person = make_person("demo")
    result = CliRunner().invoke(main, ["demo", "--owner", person.username])
    assert result.exit_code == 0, result.output
    membership = db.query(Membership).filter_by(user_id=person.id).one()
    samples = db.query(Sample).filter_by(project_id=membership.project_id).all()
    assert len(samples) == 80
    assert {s.label for s in samples} == {"badminton", "running", "standing", "walking"}
    assert sum(s.category == "testing" for s in samples) == 40
    assert all(s.axes == 6 and s.interval_ms == 100.0 for s in samples)
    unknown = CliRunner().invoke(main, ["demo", "--owner", "nobody-" + uuid.uuid4().hex])
    assert unknown.exit_code != 0 and "no user named" in unknown.output


def test_upload_sends_files_through_the_ingestion_api(
    app, make_project, db, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import socket

    from backend.datasets.models import Sample
    from backend.projects import service
    from backend.projects.models import Project

    pid, people = make_project()
    project = db.get(Project, pid)
    from backend.accounts.models import User

    _, key = service.create_api_key(
        db=db, project=project, actor=db.get(User, people["owner"].id), name="cli"
    )
    db.commit()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.05)
        folder = tmp_path / "data"
        folder.mkdir()
        for path in sorted((DEMO_DIR / "training").glob("walking.*.csv"))[:3]:
            (folder / path.name).write_bytes(path.read_bytes())
        (folder / "broken.csv").write_text("timestamp,x\n0,1\n10,zz\n")
        result = CliRunner().invoke(
            main,
            ["upload", str(folder), "--category", "training", "--server", f"http://127.0.0.1:{port}",
             "--api-key", key],
        )  # fmt: skip
        assert result.exit_code == 1
        assert "stored 3 of 4 files" in result.output and "broken.csv" in result.output
        db.expire_all()
        labels = [s.label for s in db.query(Sample).filter_by(project_id=pid)]
        assert labels == ["walking"] * 3
    finally:
        server.should_exit = True
        thread.join(timeout=10)
