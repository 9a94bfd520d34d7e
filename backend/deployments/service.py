"""Deployment operations: check a request against the run and the board, start the build job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.errors import ApiError
from backend.deployments.models import Deployment
from backend.impulses.models import TrainingRun
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


def start(
    *, db: Session, run: TrainingRun, target: str, board_id: str | None, user: User
) -> Deployment:
    """Checks that the run can be deployed to the target, then starts the build job."""
    job = db.get(Job, run.job_id) if run.job_id else None
    if job is None or job.status != JobStatus.succeeded:
        raise refuse("training_run_id", f"training run {run.id} has not succeeded")
    if run.metrics.get("kind") == "anomaly":
        raise refuse(
            "training_run_id",
            "this run is an anomaly model (K-means); deploy a classifier or regression run",
        )
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
    )  # fmt: skip
    db.add(deployment)
    projects.record(
        db=db, project_id=run.project_id, action="deployment.started", user=user,
        run_id=run.id, target=target, board_id=board_id,
    )  # fmt: skip
    db.commit()
    job = jobs.create(
        db=db, project_id=run.project_id, kind="deployment.build", user=user,
        params={"deployment_id": deployment.id},
    )  # fmt: skip
    deployment.job_id = job.id
    db.commit()
    return deployment
