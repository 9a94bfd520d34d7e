"""Dataset versions: snapshots of a project's enabled samples that training runs and tuner runs
are made from, reused while the data stays the same."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.errors import bad_request
from backend.datasets.models import DatasetVersion, Sample
from backend.projects import service as projects


def create_version(
    *, db: Session, project_id: int, name: str, user: User | None, reuse: bool = False
) -> DatasetVersion:
    """Snapshots the enabled, live samples with their labels, categories and values; with
    `reuse`, the newest version holding exactly that snapshot stands for it if there is one."""
    samples = list(
        db.scalars(
            select(Sample)
            .where(
                Sample.project_id == project_id,
                Sample.deleted_at.is_(None),
                Sample.enabled.is_(True),
            )
            .order_by(Sample.id)
        )
    )
    if not name.strip():
        raise bad_request("invalid_name", "the version name must not be blank", field="name")
    entries = [
        {
            "sample_id": s.id,
            "name": s.name,
            "label": s.label,
            "category": s.category,
            "values_key": s.values_key,
            "values_sha256": s.values_sha256,
            "length": s.length,
            "axes": s.axes,
            "interval_ms": s.interval_ms,
            "sensors": s.sensors,
        }
        for s in samples
    ]
    fingerprint = hashlib.sha256(
        json.dumps(
            [[e["sample_id"], e["label"], e["category"], e["values_sha256"]] for e in entries]
        ).encode()
    ).hexdigest()
    if reuse:
        # The fingerprint narrows the search; the entries decide (names, rates, sensors too).
        for same in db.scalars(
            select(DatasetVersion)
            .where(
                DatasetVersion.project_id == project_id, DatasetVersion.fingerprint == fingerprint
            )
            .order_by(DatasetVersion.id.desc())
        ):
            if same.entries == entries:
                return same
    version = DatasetVersion(
        project_id=project_id,
        name=name.strip(),
        entries=entries,
        sample_count=len(entries),
        fingerprint=fingerprint,
        created_by_id=user.id if user else None,
    )
    db.add(version)
    db.flush()
    projects.record(
        db=db, project_id=project_id, action="dataset.version_created", user=user,
        version_id=version.id, samples=len(entries),
    )  # fmt: skip
    return version
