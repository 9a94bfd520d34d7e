"""Deployment operations: check a request against the run and the board, start the build job,
keep on-device test results."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.db import lock_row
from backend.core.errors import ApiError
from backend.deployments.models import Deployment
from backend.deployments.schemas import DeviceTestSummary
from backend.impulses.models import ImpulseVersion, TrainingRun
from backend.jobs import service as jobs
from backend.jobs.models import Job, JobStatus
from backend.projects import service as projects
from workers.boards import BoardNotFoundError, get_board


def refuse(field: str, message: str) -> ApiError:
    return ApiError(400, "cannot_deploy", message, field=field)


def board_out(board: Any) -> dict[str, Any]:
    return {
        "id": board.id,
        "name": board.name,
        "kind": board.kind,
        "core": board.core,
        "mcu": getattr(board, "mcu", None),
        "clock_hz": board.clock_hz,
        "flash_bytes": board.flash_bytes,
        "ram_bytes": board.ram_bytes,
        "fpu": bool(board.fpu),
        "flash_method": board.flash_method,
        "toolchain": board.toolchain,
        "qemu_machine": board.qemu_machine,
        "firmware_buildable": board.firmware_buildable,
        "firmware_unavailable_reason": board.firmware_unavailable_reason,
        "cycles_per_instruction": board.cycles_per_instruction,
        "flashing": _flashing_out(board),
    }


def _flashing_out(board: Any) -> dict[str, Any] | None:
    flashing = board.flashing
    if flashing is None:
        return None
    return {
        "image_suffixes": list(flashing.image_suffixes),
        "app_offset": flashing.app_offset,
        "uf2_family_id": flashing.uf2_family_id,
        "flash_origin": board.memory.flash_origin if board.memory else None,
        "steps": list(flashing.steps),
    }


def anomaly_run_id(deployment: Deployment) -> int | None:
    """The anomaly run built in beside the deployment's model (kept in its report)."""
    value = (deployment.report or {}).get("anomaly_run_id")
    return int(value) if value is not None else None


def _locked(db: Session, deployment_id: int) -> Deployment | None:
    """The deployment re-read under a write lock held until commit, so that a change to its
    report starts from what others committed."""
    lock_row(db, Deployment, deployment_id, key_share=False)
    query = select(Deployment).where(Deployment.id == deployment_id)
    return db.scalars(query.execution_options(populate_existing=True)).one_or_none()


def keep_device_test(
    *, db: Session, deployment_id: int, summary: DeviceTestSummary, user: User | None = None
) -> Deployment | None:
    """Keeps an on-device test's summary as the deployment's report["device_test"] (the last
    test wins) and commits; None if the deployment is gone."""
    deployment = _locked(db, deployment_id)
    if deployment is None:
        db.rollback()
        return None
    kept = summary.model_dump(mode="json")
    deployment.report = {**(deployment.report or {}), "device_test": kept}
    projects.record(
        db=db, project_id=deployment.project_id, action="deployment.device_tested", user=user,
        deployment_id=deployment.id, source=summary.source, board=summary.board,
        windows=summary.windows, scores_differing=summary.scores.differing,
    )  # fmt: skip
    db.commit()
    return deployment


def _feature_count(job: Job | None) -> int | None:
    shape = (job.result or {}).get("feature_shape") if job is not None else None
    return math.prod(int(d) for d in shape) if shape else None


def _version_number(db: Session, version_id: int) -> str:
    version = db.get(ImpulseVersion, version_id)
    return f"version {version.version}" if version is not None else f"version id {version_id}"


def check_anomaly_run(*, db: Session, run: TrainingRun, anomaly_run_id: int) -> TrainingRun:
    """The anomaly run to build in beside `run`, or a 400 naming why it cannot be."""
    field = "anomaly_run_id"
    anomaly = db.get(TrainingRun, anomaly_run_id)
    if anomaly is None or anomaly.project_id != run.project_id:
        raise refuse(field, f"anomaly run {anomaly_run_id} not found in this project")
    job = db.get(Job, anomaly.job_id) if anomaly.job_id else None
    if job is None or job.status != JobStatus.succeeded:
        raise refuse(field, f"anomaly run {anomaly.id} has not succeeded")
    kind = anomaly.metrics.get("kind")
    if kind != "anomaly" or "anomaly.json" not in (anomaly.artifacts or {}):
        raise refuse(
            field,
            f"run {anomaly.id} is not an anomaly run (it is a {kind or 'unknown'} model); "
            "choose a K-means anomaly run",
        )
    if anomaly.impulse_version_id != run.impulse_version_id:
        raise refuse(
            field,
            f"anomaly run {anomaly.id} was trained on impulse "
            f"{_version_number(db, anomaly.impulse_version_id)} and run {run.id} on "
            f"{_version_number(db, run.impulse_version_id)}: an anomaly run of the same "
            "impulse version scores the same DSP features",
        )
    run_job = db.get(Job, run.job_id) if run.job_id else None
    expected, got = _feature_count(run_job), _feature_count(job)
    if expected is not None and got is not None and expected != got:
        raise refuse(
            field,
            f"anomaly run {anomaly.id} scores {got} features but run {run.id}'s model takes "
            f"{expected}",
        )
    return anomaly


def start(
    *,
    db: Session,
    run: TrainingRun,
    target: str,
    board_id: str | None,
    user: User,
    anomaly_run_id: int | None = None,
) -> Deployment:
    """Checks that the run (and the anomaly run, if any) can be deployed to the target, then
    starts the build job."""
    job = db.get(Job, run.job_id) if run.job_id else None
    if job is None or job.status != JobStatus.succeeded:
        raise refuse("training_run_id", f"training run {run.id} has not succeeded")
    if run.metrics.get("kind") == "anomaly":
        raise refuse(
            "training_run_id",
            "this run is an anomaly model (K-means); deploy a classifier or regression run "
            "and add this one as its anomaly_run_id",
        )
    if anomaly_run_id is not None:
        check_anomaly_run(db=db, run=run, anomaly_run_id=anomaly_run_id)
    if target == "firmware":
        if not board_id:
            raise refuse("board_id", "choose a board for a firmware build")
        try:
            board = get_board(board_id)
        except BoardNotFoundError:
            raise refuse("board_id", f"unknown board {board_id!r}") from None
        if not board.firmware_buildable:
            raise refuse(
                "board_id",
                f"TinyStudio cannot build firmware for {board.name}: "
                f"{board.firmware_unavailable_reason}. Deploy the C library or the Arduino "
                "library and build it with the board's own tools.",
            )
    deployment = Deployment(
        project_id=run.project_id, training_run_id=run.id, target=target,
        board_id=board_id if target == "firmware" else None, created_by_id=user.id,
        # The build job keeps it in the report it writes.
        report={"anomaly_run_id": anomaly_run_id} if anomaly_run_id is not None else {},
    )  # fmt: skip
    db.add(deployment)
    projects.record(
        db=db, project_id=run.project_id, action="deployment.started", user=user,
        run_id=run.id, target=target, board_id=board_id, anomaly_run_id=anomaly_run_id,
    )  # fmt: skip
    db.commit()
    job = jobs.create(
        db=db, project_id=run.project_id, kind="deployment.build", user=user,
        params={"deployment_id": deployment.id},
    )  # fmt: skip
    deployment.job_id = job.id
    db.commit()
    return deployment
