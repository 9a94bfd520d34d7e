"""Routes for the board catalog and for building, listing and testing deployments on devices."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.deps import CurrentUser, Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.core.errors import bad_request, not_found
from backend.deployments import service
from backend.deployments.models import Deployment
from backend.deployments.schemas import (
    BoardOut,
    DeployIn,
    DeploymentOut,
    DeviceTestResultIn,
    DeviceTestSummary,
)
from backend.impulses.models import TrainingRun
from backend.jobs.models import Job
from backend.jobs.schemas import JobOut
from workers.boards import list_boards

router = APIRouter(prefix="/api", tags=["deployments"])


@router.get("/boards", openapi_extra=access("user"))
def boards(_user: CurrentUser) -> list[BoardOut]:
    """The board catalog: virtual boards (QEMU) and real boards, with their memory and clock."""
    return [BoardOut.model_validate(service.board_out(b)) for b in list_boards()]


def deployment_out(db: Session, deployment: Deployment) -> DeploymentOut:
    job = db.get(Job, deployment.job_id) if deployment.job_id else None
    return DeploymentOut(
        id=deployment.id, training_run_id=deployment.training_run_id, target=deployment.target,
        board_id=deployment.board_id, anomaly_run_id=service.anomaly_run_id(deployment),
        job_id=deployment.job_id,
        status=job.status if job else "queued", report=deployment.report or {},
        figures=(deployment.report or {}).get("figures"), created_at=deployment.created_at,
        device_test=(deployment.report or {}).get("device_test"),
    )  # fmt: skip


projects_router = APIRouter(prefix="/api/projects/{project_id}", tags=["deployments"])


@projects_router.post(
    "/training-runs/{run_id}/deployments", status_code=202, openapi_extra=access("project:editor")
)
def deploy(run_id: Id, body: DeployIn, ctx: ProjectEditor, db: SessionDep) -> DeploymentOut:
    """Builds the run's impulse as a C library, an Arduino library or firmware for a board,
    optionally with an anomaly run of the same impulse version built in beside the model."""
    run = db.get(TrainingRun, run_id)
    if run is None or run.project_id != ctx.project.id:
        raise not_found("training run")
    deployment = service.start(
        db=db, run=run, target=body.target, board_id=body.board_id,
        anomaly_run_id=body.anomaly_run_id, user=ctx.user,
    )  # fmt: skip
    return deployment_out(db, deployment)


@projects_router.get("/deployments", openapi_extra=access("project:viewer"))
def list_deployments(ctx: ProjectViewer, db: SessionDep) -> list[DeploymentOut]:
    """The project's deployments, newest first."""
    rows = db.scalars(
        select(Deployment)
        .where(Deployment.project_id == ctx.project.id)
        .order_by(Deployment.id.desc())
    )
    return [deployment_out(db, d) for d in rows]


@projects_router.get("/deployments/{deployment_id}", openapi_extra=access("project:viewer"))
def read_deployment(deployment_id: Id, ctx: ProjectViewer, db: SessionDep) -> DeploymentOut:
    """One deployment with its figures (RAM, flash, latency) and its build report."""
    deployment = db.get(Deployment, deployment_id)
    if deployment is None or deployment.project_id != ctx.project.id:
        raise not_found("deployment")
    return deployment_out(db, deployment)


def _testable(db: Session, project_id: int, deployment_id: int) -> Deployment:
    """The project's firmware deployment that built successfully, else a 404 or a 400."""
    deployment = db.get(Deployment, deployment_id)
    if deployment is None or deployment.project_id != project_id:
        raise not_found("deployment")
    job = db.get(Job, deployment.job_id) if deployment.job_id else None
    if deployment.target != "firmware" or job is None or job.status != "succeeded":
        raise bad_request(
            "not_testable", "on-device testing needs a firmware deployment that built successfully"
        )
    return deployment


@projects_router.post(
    "/deployments/{deployment_id}/device-test",
    status_code=202,
    openapi_extra=access("project:editor"),
)
def device_test(deployment_id: Id, ctx: ProjectEditor, db: SessionDep) -> JobOut:
    """Runs the test set through the firmware on its virtual board and compares every window
    with the studio's int8 results (real boards are tested from the browser)."""
    from backend.jobs import service as jobs
    from backend.jobs.views import job_out

    deployment = _testable(db, ctx.project.id, deployment_id)
    started = jobs.create(
        db=db, project_id=ctx.project.id, kind="deployment.device_test", user=ctx.user,
        params={"deployment_id": deployment.id},
    )  # fmt: skip
    return job_out(db, started)


@projects_router.post(
    "/deployments/{deployment_id}/device-test-results", openapi_extra=access("project:editor")
)
def keep_device_test_result(
    deployment_id: Id, body: DeviceTestResultIn, ctx: ProjectEditor, db: SessionDep
) -> DeploymentOut:
    """Keeps an on-device test run from the browser (through a board on Web Serial or a virtual
    board) as the deployment's last on-device test, as the studio's own test keeps its."""
    deployment = _testable(db, ctx.project.id, deployment_id)
    summary = DeviceTestSummary(**body.model_dump())
    kept = service.keep_device_test(
        db=db, deployment_id=deployment.id, summary=summary, user=ctx.user
    )
    if kept is None:
        raise not_found("deployment")
    return deployment_out(db, kept)
