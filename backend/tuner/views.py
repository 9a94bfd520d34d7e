"""Routes of the tuner: start, list, read and cancel runs, apply a trial, and run defaults."""

from __future__ import annotations

from fastapi import APIRouter, Query

from backend.core.deps import Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.tuner import results, service
from backend.tuner.schemas import (
    TunerApplyIn,
    TunerApplyOut,
    TunerDefaults,
    TunerRunCreate,
    TunerRunOut,
    TunerRunSummary,
)

router = APIRouter(prefix="/api/projects/{project_id}", tags=["tuner"])


@router.get("/tuner-defaults", openapi_extra=access("project:viewer"))
def tuner_defaults(
    ctx: ProjectViewer,
    db: SessionDep,
    board_id: str | None = Query(default=None, max_length=64),
    impulse_id: Id | None = None,
) -> TunerDefaults:
    """What a new run starts from: budgets from the board (half its RAM and flash; the base
    impulse's stride as latency) and the blocks that fit the project's data."""
    return service.defaults(
        db=db, project_id=ctx.project.id, board_id=board_id, impulse_id=impulse_id
    )


@router.post("/tuner-runs", status_code=202, openapi_extra=access("project:editor"))
def start_tuner_run(body: TunerRunCreate, ctx: ProjectEditor, db: SessionDep) -> TunerRunOut:
    """Starts a search for the most accurate impulse within the board's budgets; every trial
    is trained, quantized, built as firmware and measured."""
    run = service.create(db=db, project_id=ctx.project.id, body=body, user=ctx.user)
    return results.run_out(run, service.trials(db=db, run_ids=[run.id])[run.id])


@router.get("/tuner-runs", openapi_extra=access("project:viewer"))
def list_tuner_runs(ctx: ProjectViewer, db: SessionDep) -> list[TunerRunSummary]:
    """The project's tuner runs, newest first."""
    runs = service.list_runs(db=db, project_id=ctx.project.id)
    by_run = service.trials(db=db, run_ids=[r.id for r in runs])
    return [results.summary(run, by_run[run.id]) for run in runs]


@router.get("/tuner-runs/{run_id}", openapi_extra=access("project:viewer"))
def read_tuner_run(run_id: Id, ctx: ProjectViewer, db: SessionDep) -> TunerRunOut:
    """One tuner run with every trial: parameters, accuracy, measured figures, timings."""
    run = service.get(db=db, project_id=ctx.project.id, run_id=run_id)
    return results.run_out(run, service.trials(db=db, run_ids=[run.id])[run.id])


@router.post("/tuner-runs/{run_id}/cancel", openapi_extra=access("project:editor"))
def cancel_tuner_run(run_id: Id, ctx: ProjectEditor, db: SessionDep) -> TunerRunOut:
    """Stops a running search; trials that finished keep their results."""
    run = service.get(db=db, project_id=ctx.project.id, run_id=run_id)
    run = service.cancel(db=db, run=run, user=ctx.user)
    return results.run_out(run, service.trials(db=db, run_ids=[run.id])[run.id])


@router.post(
    "/tuner-runs/{run_id}/trials/{trial_id}/apply",
    status_code=201,
    openapi_extra=access("project:editor"),
)
def apply_tuner_trial(
    run_id: Id, trial_id: Id, body: TunerApplyIn, ctx: ProjectEditor, db: SessionDep
) -> TunerApplyOut:
    """Saves a measured trial as a new impulse version with a training run holding its trained
    model, ready to deploy."""
    run = service.get(db=db, project_id=ctx.project.id, run_id=run_id)
    return service.apply(
        db=db, run=run, trial_id=trial_id, impulse_id=body.impulse_id, user=ctx.user
    )
