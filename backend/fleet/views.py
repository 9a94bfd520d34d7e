"""Routes of the fleet: devices register and report with keys; members read devices and drift
and turn field windows into samples."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.deps import (
    DeviceDep,
    Id,
    ProjectEditor,
    ProjectViewer,
    SessionDep,
    access,
    bearer_token,
)
from backend.core.errors import unauthorized
from backend.core.security import hash_token
from backend.fleet import report, samples, service
from backend.fleet.models import Device
from backend.fleet.schemas import (
    DeviceOut,
    DeviceRegister,
    DeviceRegistered,
    DeviceUpdate,
    DriftOut,
    FieldSamplesIn,
    FieldSamplesOut,
    FleetDriftOut,
    TelemetryAccepted,
    TelemetryBatch,
)
from backend.impulses.models import TrainingRun

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
projects_router = APIRouter(prefix="/api/projects/{project_id}/fleet", tags=["fleet"])


def get_device_by_key(request: Request, db: SessionDep) -> Device:
    """The device calling, from its key as a bearer token."""
    key = bearer_token(request)
    if not key or not key.startswith(service.DEVICE_KEY_PREFIX + "_"):
        raise unauthorized("an Authorization: Bearer header with a device key is required")
    device = db.scalar(select(Device).where(Device.key_hash == hash_token(key)))
    if device is None:
        raise unauthorized("invalid device key (the device may have been deleted)")
    return device


DeviceKeyDep = Annotated[Device, Depends(get_device_by_key)]


@router.post("/devices/register", status_code=201, openapi_extra=access("apikey"))
def register_device(body: DeviceRegister, ctx: DeviceDep, db: SessionDep) -> DeviceRegistered:
    """Registers a device with the project's API key (x-api-key header); the answer holds
    the device's own key, shown once, for its telemetry."""
    device, key = service.register(db=db, project=ctx.project, api_key=ctx.api_key, body=body)
    db.commit()
    return DeviceRegistered(**service.out(db, device).model_dump(), key=key)


@router.post("/telemetry", openapi_extra=access("device"))
def post_telemetry(body: TelemetryBatch, device: DeviceKeyDep, db: SessionDep) -> TelemetryAccepted:
    """Stores a batch of per-window summaries (Authorization: Bearer with the device key).
    Items whose seq the device already sent are counted as duplicates and not stored again,
    so a batch can be resent safely."""
    stored, duplicates = service.ingest(db=db, device=device, batch=body)
    return TelemetryAccepted(stored=stored, duplicates=duplicates)


@projects_router.get("/devices", openapi_extra=access("project:viewer"))
def list_devices(ctx: ProjectViewer, db: SessionDep) -> list[DeviceOut]:
    """The project's devices with their model, state (online if seen lately) and last seen."""
    return service.out_many(db, service.list_devices(db=db, project_id=ctx.project.id))


@projects_router.patch("/devices/{device_id}", openapi_extra=access("project:editor"))
def update_device(
    device_id: Id, body: DeviceUpdate, ctx: ProjectEditor, db: SessionDep
) -> DeviceOut:
    """Renames or tags a device."""
    device = service.get(db=db, project_id=ctx.project.id, device_id=device_id)
    service.update(db=db, device=device, body=body, user=ctx.user)
    db.commit()
    return service.out(db, device)


@projects_router.delete(
    "/devices/{device_id}", status_code=204, openapi_extra=access("project:editor")
)
def delete_device(device_id: Id, ctx: ProjectEditor, db: SessionDep) -> Response:
    """Deletes a device and its telemetry; its key stops working."""
    device = service.get(db=db, project_id=ctx.project.id, device_id=device_id)
    service.remove(db=db, device=device, user=ctx.user)
    db.commit()
    return Response(status_code=204)


def _run(db: Session, device: Device) -> TrainingRun | None:
    return db.get(TrainingRun, device.training_run_id) if device.training_run_id else None


@projects_router.get("/drift", openapi_extra=access("project:viewer"))
def fleet_drift(ctx: ProjectViewer, db: SessionDep) -> FleetDriftOut:
    """Drift of every device, and of all devices running one model pooled, against the
    training windows of the model they run."""
    settings = get_settings()
    devices = service.list_devices(db=db, project_id=ctx.project.id)
    by_run: dict[int | None, list[Device]] = defaultdict(list)
    for device in devices:
        by_run[device.training_run_id].append(device)
    return FleetDriftOut(
        feature_psi_alert=settings.fleet_feature_psi_alert,
        label_psi_alert=settings.fleet_label_psi_alert,
        fleet=[
            report.report(db, run=_run(db, group[0]), devices=group, device=None)
            for run_id, group in sorted(by_run.items(), key=lambda kv: kv[0] or 0)
            if run_id is not None
        ],
        devices=[report.report(db, run=_run(db, d), devices=[d], device=d) for d in devices],
    )


@projects_router.get("/devices/{device_id}/drift", openapi_extra=access("project:viewer"))
def device_drift(device_id: Id, ctx: ProjectViewer, db: SessionDep) -> DriftOut:
    """One device's drift against the training windows of the model it runs."""
    device = service.get(db=db, project_id=ctx.project.id, device_id=device_id)
    return report.report(db, run=_run(db, device), devices=[device], device=device)


@projects_router.post(
    "/devices/{device_id}/samples", status_code=201, openapi_extra=access("project:editor")
)
def field_samples(
    device_id: Id, body: FieldSamplesIn, ctx: ProjectEditor, db: SessionDep
) -> FieldSamplesOut:
    """Turns the raw windows the device sampled (in a time range, when given) into unlabelled
    samples of the project, for review and labelling; each window becomes a sample once."""
    device = service.get(db=db, project_id=ctx.project.id, device_id=device_id)
    ids = samples.to_samples(
        db=db, project=ctx.project, device=device, user=ctx.user, start=body.start, end=body.end
    )
    db.commit()
    return FieldSamplesOut(created=len(ids), sample_ids=ids)
