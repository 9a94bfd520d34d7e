"""Fleet operations: register devices, store their telemetry once, keep it for the retention
period, and describe devices for the browser."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import ApiError, not_found
from backend.core.security import hash_token, new_token
from backend.deployments.models import Deployment
from backend.fleet.models import Device, Telemetry
from backend.fleet.schemas import DeviceOut, DeviceRegister, DeviceUpdate, TelemetryBatch
from backend.impulses.models import Impulse, TrainingRun
from backend.projects.models import ApiKey, Project
from backend.projects.service import record

DEVICE_KEY_PREFIX = "tsd"


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_fleet_request", f"{field}: {message}", field=field)


def _run_of(db: Session, project_id: int, body: DeviceRegister) -> tuple[int, int | None]:
    """The training run (and deployment) a registering device names, checked to be the
    project's."""
    deployment = None
    if body.deployment_id is not None:
        deployment = db.get(Deployment, body.deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise invalid("deployment_id", f"the project has no deployment {body.deployment_id}")
    run_id = body.training_run_id or (deployment.training_run_id if deployment else None)
    run = db.get(TrainingRun, run_id) if run_id else None
    if run is None or run.project_id != project_id:
        raise invalid("training_run_id", f"the project has no training run {run_id}")
    if deployment is not None and deployment.training_run_id != run.id:
        raise invalid(
            "deployment_id",
            f"deployment {deployment.id} is of run {deployment.training_run_id}, not {run.id}",
        )
    return run.id, deployment.id if deployment else None


def register(
    *, db: Session, project: Project, api_key: ApiKey, body: DeviceRegister
) -> tuple[Device, str]:
    """Registers a device; its key is returned once, only its hash is kept."""
    run_id, deployment_id = _run_of(db, project.id, body)
    key = new_token(DEVICE_KEY_PREFIX)
    device = Device(
        project_id=project.id, name=body.name.strip(), board_id=body.board_id,
        firmware_version=body.firmware_version, training_run_id=run_id,
        deployment_id=deployment_id, tags=[], key_hash=hash_token(key), key_prefix=key[:8],
        registered_by_api_key_id=api_key.id, last_seen_at=utcnow(),
    )  # fmt: skip
    db.add(device)
    db.flush()
    record(db=db, project_id=project.id, action="device.registered", api_key=api_key,
           name=device.name)  # fmt: skip
    return device, key


def get(*, db: Session, project_id: int, device_id: int) -> Device:
    """Gets a device of a project by its id."""
    device = db.get(Device, device_id)
    if device is None or device.project_id != project_id:
        raise not_found("device")
    return device


def list_devices(*, db: Session, project_id: int) -> list[Device]:
    return list(
        db.scalars(select(Device).where(Device.project_id == project_id).order_by(Device.name))
    )


def update(*, db: Session, device: Device, body: DeviceUpdate, user: User) -> Device:
    """Renames or tags a device."""
    if body.name is not None:
        device.name = body.name.strip()
    if body.tags is not None:
        device.tags = body.tags
    record(db=db, project_id=device.project_id, action="device.updated", user=user,
           name=device.name)  # fmt: skip
    return device


def remove(*, db: Session, device: Device, user: User) -> None:
    """Deletes a device and its telemetry; its key stops working."""
    db.execute(delete(Telemetry).where(Telemetry.device_id == device.id))
    db.delete(device)
    record(db=db, project_id=device.project_id, action="device.deleted", user=user,
           name=device.name)  # fmt: skip


def ingest(*, db: Session, device: Device, batch: TelemetryBatch) -> tuple[int, int]:
    """Stores the items whose seq this device has not sent before; (stored, duplicates)."""
    limit = get_settings().fleet_batch_max
    if len(batch.items) > limit:
        raise invalid("items", f"a batch holds at most {limit} items, this one {len(batch.items)}")
    seen: set[int] = set()
    for index, item in enumerate(batch.items):
        if item.seq in seen:
            raise invalid(f"items.{index}.seq", f"seq {item.seq} appears twice in the batch")
        seen.add(item.seq)
    width = len(batch.items[0].feature_means)
    for index, item in enumerate(batch.items):
        if len(item.feature_means) != width:
            raise invalid(
                f"items.{index}.feature_means",
                f"{len(item.feature_means)} features where the batch's first item has {width}",
            )
    try:
        stored = _add_unseen(db, device, batch)
        db.commit()
    except IntegrityError:
        # The same items arrived at once in another request, which stored them first: what it
        # stored is seen now.
        db.rollback()
        stored = _add_unseen(db, device, batch)
        db.commit()
    return stored, len(batch.items) - stored


def _add_unseen(db: Session, device: Device, batch: TelemetryBatch) -> int:
    """Adds the items whose seq the device has not stored yet; returns how many."""
    seqs = [item.seq for item in batch.items]
    stored_seqs = set(
        db.scalars(
            select(Telemetry.seq).where(Telemetry.device_id == device.id, Telemetry.seq.in_(seqs))
        )
    )
    fresh = [item for item in batch.items if item.seq not in stored_seqs]
    for item in fresh:
        raw = item.raw
        db.add(
            Telemetry(
                project_id=device.project_id,
                device_id=device.id,
                seq=item.seq,
                time=item.time,
                label=item.label,
                top_score=item.top_score,
                anomaly_score=item.anomaly_score,
                count=item.count,
                feature_means=item.feature_means,
                feature_variances=item.feature_variances,
                raw_values=raw.values if raw else None,
                raw_interval_ms=raw.interval_ms if raw else None,
                raw_sensors=raw.sensors if raw else None,
            )
        )
    device.last_seen_at = utcnow()
    return len(fresh)


def purge_telemetry(*, db: Session) -> int:
    """Deletes telemetry older than the retention setting; returns how many rows went."""
    cutoff = utcnow() - timedelta(days=get_settings().fleet_telemetry_days)
    result = db.execute(delete(Telemetry).where(Telemetry.time < cutoff))
    db.commit()
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


def out(db: Session, device: Device) -> DeviceOut:
    """A device as the browser shows it: its model, state and what it has sent."""
    return out_many(db, [device])[0]


def out_many(db: Session, devices: list[Device]) -> list[DeviceOut]:
    """Devices as the browser shows them, their telemetry counted in one query."""
    settings = get_settings()
    now = utcnow()
    counts = {
        device_id: (total, raw)
        for device_id, total, raw in db.execute(
            select(
                Telemetry.device_id,
                func.count(Telemetry.id),
                func.count(Telemetry.id).filter(
                    Telemetry.raw_values.is_not(None), Telemetry.sample_id.is_(None)
                ),
            )
            .where(Telemetry.device_id.in_([d.id for d in devices]))
            .group_by(Telemetry.device_id)
        )
    }
    run_ids = {d.training_run_id for d in devices if d.training_run_id}
    versions = {
        run_id: f"{name} · run {run_id}"
        for run_id, name in db.execute(
            select(TrainingRun.id, Impulse.name)
            .join(Impulse, Impulse.id == TrainingRun.impulse_id)
            .where(TrainingRun.id.in_(run_ids))
        )
    }
    result = []
    for device in devices:
        seen = device.last_seen_at
        online = seen is not None and now - seen <= timedelta(seconds=settings.fleet_online_seconds)
        total, raw = counts.get(device.id, (0, 0))
        result.append(
            DeviceOut(
                id=device.id,
                name=device.name,
                board_id=device.board_id,
                firmware_version=device.firmware_version,
                training_run_id=device.training_run_id,
                deployment_id=device.deployment_id,
                model_version=versions.get(device.training_run_id or 0),
                tags=device.tags,
                key_prefix=device.key_prefix,
                last_seen_at=seen,
                state="online" if online else "offline",
                telemetry_count=total,
                raw_windows=raw,
                created_at=device.created_at,
            )
        )
    return result
