"""Raw windows devices sampled in the field, turned into unlabelled samples for review: each is
written as an acquisition document and stored through the dataset's own upload path."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.datasets import service as datasets
from backend.datasets.formats import UploadError
from backend.datasets.formats.acquisition_writer import to_acquisition_json
from backend.datasets.formats.upload import parse_upload
from backend.fleet.models import Device, Telemetry
from backend.projects.models import Project
from backend.projects.service import record

# Windows turned into samples per request, so that one request stays short.
MAX_WINDOWS = 1000


def to_samples(
    *, db: Session, project: Project, device: Device, user: User,
    start: datetime | None, end: datetime | None,
) -> list[int]:  # fmt: skip
    """Makes a sample, unlabelled, of every raw window `device` sent in [start, end] that is
    not a sample yet; returns the new samples' ids."""
    statement = select(Telemetry).where(
        Telemetry.device_id == device.id,
        Telemetry.raw_values.is_not(None),
        Telemetry.sample_id.is_(None),
    )
    if start is not None:
        statement = statement.where(Telemetry.time >= start)
    if end is not None:
        statement = statement.where(Telemetry.time <= end)
    rows = db.scalars(statement.order_by(Telemetry.time).limit(MAX_WINDOWS)).all()
    created: list[int] = []
    for row in rows:
        assert row.raw_values is not None and row.raw_interval_ms is not None
        values = np.asarray(row.raw_values, dtype=np.float32)
        names = row.raw_sensors or [f"axis{i}" for i in range(values.shape[1])]
        document = to_acquisition_json(
            values=values, sensors=[(name, "") for name in names],
            interval_ms=row.raw_interval_ms, device_type=device.board_id,
            device_name=device.name, iat=int(row.time.timestamp()),
        )  # fmt: skip
        filename = f"field.{device.name}.{row.seq}.json"
        try:
            parsed = parse_upload(
                filename, "application/json", document, hmac_key=None,
                limits=datasets.upload_limits(),
            )  # fmt: skip
        except UploadError as exc:
            raise datasets.upload_error_to_api(exc) from None
        sample = datasets.store_parsed(
            db=db, project=project, filename=filename, parsed=parsed, user=user,
            options=datasets.UploadOptions(
                no_label=True,
                metadata={
                    "source": "fleet", "device": device.name, "device_id": str(device.id),
                    "seq": str(row.seq), "time": row.time.isoformat(),
                    "field_label": row.label or "",
                },
            ),
        )  # fmt: skip
        row.sample_id = sample.id
        created.append(sample.id)
    if created:
        record(db=db, project_id=project.id, action="fleet.samples_created", user=user,
               device=device.name, count=len(created))  # fmt: skip
    return created
