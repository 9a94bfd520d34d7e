"""Routes for blocks, impulses (versioned), DSP preview, feature generation, training runs."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.deps import CurrentUser, Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.core.errors import bad_request, not_found
from backend.datasets import service as datasets
from backend.impulses import service
from backend.impulses.inputs import input_block_info, suggest
from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
from backend.impulses.schemas import (
    BlockInfo,
    BlocksOut,
    FeaturesIn,
    ImpulseCreate,
    ImpulseOut,
    ImpulseSave,
    ImpulseSpec,
    ImpulseVersionOut,
    InputDefaultsOut,
    PreviewIn,
    PreviewOut,
    TrainIn,
    TrainingRunOut,
)
from backend.jobs.models import Job
from backend.jobs.schemas import JobOut
from workers import dsp, learn

router = APIRouter(prefix="/api", tags=["impulses"])


@router.get("/blocks", openapi_extra=access("user"))
def list_blocks(_user: CurrentUser) -> BlocksOut:
    """The input block and every DSP and learning block, each with the JSON schema of its
    parameters and their defaults."""
    return BlocksOut(
        input=input_block_info(),
        dsp=[
            BlockInfo(
                name=b.name,
                title=b.title,
                description=b.description,
                kind="dsp",
                parameters_schema=b.parameters_schema(),
            )  # fmt: skip
            for b in dsp.BLOCKS.values()
        ],
        learn=[
            BlockInfo(
                name=b.name,
                title=b.title,
                description=getattr(b, "description", ""),
                kind=b.kind,
                parameters_schema=b.parameters_schema(),
            )  # fmt: skip
            for b in learn.LEARN_BLOCKS.values()
        ],
    )


def impulse_out(
    db: Session, impulse: Impulse, facts: service.DataFacts | None = None
) -> ImpulseOut:
    version = service.current_version(db=db, impulse=impulse)
    spec = ImpulseSpec.model_validate(version.spec)
    facts = facts or service.data_facts(db=db, project_id=impulse.project_id)
    try:
        shapes = service.validate(spec, facts)
    except Exception:  # the data changed since it was saved: show it, validate at train time
        shapes = None
    return ImpulseOut(
        id=impulse.id, name=impulse.name, version=impulse.current_version, version_id=version.id,
        spec=version.spec, shapes=shapes, created_at=impulse.created_at,
        updated_at=impulse.updated_at,
    )  # fmt: skip


projects_router = APIRouter(prefix="/api/projects/{project_id}", tags=["impulses"])


@projects_router.get("/impulses", openapi_extra=access("project:viewer"))
def list_impulses(ctx: ProjectViewer, db: SessionDep) -> list[ImpulseOut]:
    """The project's impulses (a project may hold several to compare)."""
    rows = db.scalars(
        select(Impulse).where(Impulse.project_id == ctx.project.id).order_by(Impulse.id)
    )
    facts = service.data_facts(db=db, project_id=ctx.project.id)
    return [impulse_out(db, i, facts) for i in rows]


@projects_router.post("/impulses", status_code=201, openapi_extra=access("project:editor"))
def create_impulse(body: ImpulseCreate, ctx: ProjectEditor, db: SessionDep) -> ImpulseOut:
    """Creates an impulse; it is checked against the blocks' schemas and the project's data."""
    impulse = service.create(
        db=db, project_id=ctx.project.id, name=body.name, spec=body.spec, user=ctx.user
    )
    db.commit()
    return impulse_out(db, impulse)


# Declared before /impulses/{impulse_id}, which would otherwise take "input-defaults" as an id.
@projects_router.get("/impulses/input-defaults", openapi_extra=access("project:viewer"))
def input_defaults(ctx: ProjectViewer, db: SessionDep) -> InputDefaultsOut:
    """The input block the project's data suggests, with the whole-sample window (the longest
    sample's duration) and the sample durations it was drawn from."""
    return suggest(db=db, project_id=ctx.project.id)


@projects_router.get("/impulses/{impulse_id}", openapi_extra=access("project:viewer"))
def read_impulse(impulse_id: Id, ctx: ProjectViewer, db: SessionDep) -> ImpulseOut:
    """One impulse at its current version, with the shapes between its blocks."""
    return impulse_out(db, service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id))


@projects_router.put("/impulses/{impulse_id}", openapi_extra=access("project:editor"))
def save_impulse(
    impulse_id: Id, body: ImpulseSave, ctx: ProjectEditor, db: SessionDep
) -> ImpulseOut:
    """Saves a new version of the impulse (older versions stay, for the runs that used them)."""
    impulse = service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id)
    service.save(
        db=db, impulse=impulse, spec=body.spec, name=body.name, base_version=body.base_version,
        user=ctx.user,
    )  # fmt: skip
    db.commit()
    return impulse_out(db, impulse)


@projects_router.delete(
    "/impulses/{impulse_id}", status_code=204, openapi_extra=access("project:editor")
)
def delete_impulse(impulse_id: Id, ctx: ProjectEditor, db: SessionDep) -> None:
    """Deletes an impulse with its versions and training runs."""
    impulse = service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id)
    db.delete(impulse)
    db.commit()


@projects_router.get("/impulses/{impulse_id}/versions", openapi_extra=access("project:viewer"))
def list_impulse_versions(
    impulse_id: Id, ctx: ProjectViewer, db: SessionDep
) -> list[ImpulseVersionOut]:
    """Every saved version of the impulse, newest first."""
    impulse = service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id)
    rows = db.execute(
        select(ImpulseVersion, User.username)
        .outerjoin(User, User.id == ImpulseVersion.created_by_id)
        .where(ImpulseVersion.impulse_id == impulse.id)
        .order_by(ImpulseVersion.version.desc())
    )
    return [
        ImpulseVersionOut.model_validate(version).model_copy(update={"created_by": username})
        for version, username in rows
    ]


@projects_router.post("/impulses/preview", openapi_extra=access("project:viewer"))
def preview_dsp(body: PreviewIn, ctx: ProjectViewer, db: SessionDep) -> PreviewOut:
    """Runs one DSP block on one window of a sample, to see its features."""
    sample = datasets.get(db=db, project_id=ctx.project.id, sample_id=body.sample_id)
    spec = ImpulseSpec.model_construct(input=body.input, dsp=[body.dsp], learn=[])  # no learning
    shapes = service.shapes(spec, sample.axes, 2)
    windows, starts, features = service.features_of(
        datasets.load_values(sample), sample.interval_ms, spec
    )
    if len(windows) == 0:
        raise bad_request(
            "no_window", f"sample {sample.id} is shorter than one window and zero_pad is off",
            field="input.window_ms",
        )  # fmt: skip
    if body.window_index >= len(windows):
        raise bad_request(
            "no_such_window", f"the sample has {len(windows)} windows", field="window_index"
        )
    names = dsp.get_block(body.dsp.block).feature_names(
        shapes.window_samples, [s["name"] for s in sample.sensors], body.input.frequency_hz,
        body.dsp.params,
    )  # fmt: skip
    return PreviewOut(
        sample_id=sample.id, window_index=body.window_index, windows=len(windows),
        window_start_ms=float(starts[body.window_index]),
        window=windows[body.window_index].tolist(), axes=[s["name"] for s in sample.sensors],
        features=features[body.window_index].reshape(-1).tolist(),
        feature_shape=list(shapes.dsp_output_shapes[0]), feature_names=names,
    )  # fmt: skip


@projects_router.post(
    "/impulses/{impulse_id}/features", status_code=202, openapi_extra=access("project:editor")
)
def generate_features(
    impulse_id: Id, body: FeaturesIn, ctx: ProjectEditor, db: SessionDep
) -> JobOut:
    """Starts a job computing the features of every window (cached), the 2-D explorer and
    per-feature importance."""
    from backend.impulses import jobs as impulse_jobs
    from backend.jobs.views import job_out

    impulse = service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id)
    job = impulse_jobs.start_features(
        db=db, impulse=impulse, user=ctx.user, dataset_version_id=body.dataset_version_id
    )
    return job_out(db, job)


@projects_router.post(
    "/impulses/{impulse_id}/train", status_code=202, openapi_extra=access("project:editor")
)
def train_impulse(
    impulse_id: Id, body: TrainIn, ctx: ProjectEditor, db: SessionDep
) -> TrainingRunOut:
    """Starts a training run (features, training, int8 quantization, evaluation) as a job."""
    from backend.impulses import jobs as impulse_jobs

    impulse = service.get(db=db, project_id=ctx.project.id, impulse_id=impulse_id)
    run = impulse_jobs.start_training(
        db=db, impulse=impulse, user=ctx.user, learn_index=body.learn_index,
        dataset_version_id=body.dataset_version_id, params=body.params,
        normal_labels=body.normal_labels, optimization=body,
    )  # fmt: skip
    return run_out(db, run)


@projects_router.get("/training-runs", openapi_extra=access("project:viewer"))
def list_training_runs(
    ctx: ProjectViewer, db: SessionDep, impulse_id: Id | None = None
) -> list[TrainingRunOut]:
    """Every training run (experiment) of the project, newest first."""
    query = select(TrainingRun).where(TrainingRun.project_id == ctx.project.id)
    if impulse_id is not None:
        query = query.where(TrainingRun.impulse_id == impulse_id)
    return [run_out(db, r) for r in db.scalars(query.order_by(TrainingRun.id.desc()))]


def run_out(db: Session, run: TrainingRun) -> TrainingRunOut:
    """A run with the status of the job that trains it."""
    job = db.get(Job, run.job_id) if run.job_id else None
    links = (run.metrics or {}).get("links") or {}
    derived = {"status", "baseline_run_id", "teacher_run_id"}
    return TrainingRunOut.model_validate(
        {
            **{
                name: getattr(run, name)
                for name in TrainingRunOut.model_fields
                if name not in derived
            },
            "status": job.status if job is not None else "queued",
            "baseline_run_id": links.get("baseline_run_id"),
            "teacher_run_id": links.get("teacher_run_id"),
        }
    )


def _run(db: Session, project_id: int, run_id: int) -> TrainingRun:
    run = db.get(TrainingRun, run_id)
    if run is None or run.project_id != project_id:
        raise not_found("training run")
    return run


@projects_router.get("/training-runs/{run_id}", openapi_extra=access("project:viewer"))
def read_training_run(run_id: Id, ctx: ProjectViewer, db: SessionDep) -> TrainingRunOut:
    """One training run with its metrics (float and int8 side by side) and artifacts."""
    return run_out(db, _run(db, ctx.project.id, run_id))


@projects_router.post(
    "/training-runs/{run_id}/retrain", status_code=202, openapi_extra=access("project:editor")
)
def retrain(run_id: Id, ctx: ProjectEditor, db: SessionDep) -> TrainingRunOut:
    """Trains again exactly as this run did: same impulse version, dataset version and settings."""
    from backend.impulses import jobs as impulse_jobs

    run = impulse_jobs.retrain(db=db, run=_run(db, ctx.project.id, run_id), user=ctx.user)
    return run_out(db, run)
