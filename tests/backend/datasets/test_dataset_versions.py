"""Dataset versions: a snapshot per request, or (for runs) the newest version of the same data."""

from __future__ import annotations

from tests.factories import csv_sample, upload_csvs


def test_reuse_returns_the_newest_version_of_unchanged_data(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from backend.accounts.models import User
    from backend.datasets import versions
    from backend.datasets.models import Sample

    pid, people = make_project()
    h = people["owner"].headers
    upload_csvs(
        client, pid, h, {f"tap.{n}.csv": csv_sample([float(n)] * 5) for n in range(3)}, "training"
    )
    owner = db.get(User, people["owner"].id)

    def version(reuse: bool) -> int:
        made = versions.create_version(db=db, project_id=pid, name="run", user=owner, reuse=reuse)
        db.commit()
        return made.id

    first = version(reuse=True)
    assert version(reuse=True) == first
    asked = version(reuse=False)  # someone asked for a snapshot: it is made, and is the newest
    assert asked != first and version(reuse=True) == asked

    sample = db.scalars(select(Sample).where(Sample.project_id == pid).order_by(Sample.id)).first()
    label, name = sample.label, sample.name
    sample.label = "knock"
    db.commit()
    relabelled = version(reuse=True)
    assert relabelled not in (first, asked)
    sample.name = "renamed"  # the snapshot keeps names too: a rename is a new version
    db.commit()
    renamed = version(reuse=True)
    assert renamed not in (first, asked, relabelled)
    sample.label, sample.name = label, name
    db.commit()
    # Back to the original data: the newest version holding it stands for it again.
    assert version(reuse=True) == asked
