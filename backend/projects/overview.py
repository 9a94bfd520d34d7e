"""A project at a glance: what it holds and how far it got from data to a model on a board."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from backend.datasets.models import Category, Sample
from backend.deployments.models import Deployment
from backend.impulses.models import Impulse, TrainingRun
from backend.jobs.models import Job, JobStatus
from backend.projects.models import ActivityEvent
from backend.projects.schemas import ProjectOverview

# Activity that says the project's model ran on a board (real or virtual).
DEVICE_TESTED = "deployment.device_tested"
VIRTUAL_BOARD_STARTED = "virtual_board.started"


def _count(db: Session, statement) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(statement) or 0)


def _succeeded(db: Session, model: type[TrainingRun] | type[Deployment], project_id: int) -> int:
    return _count(
        db,
        select(func.count())
        .select_from(model)
        .join(Job, Job.id == model.job_id)
        .where(model.project_id == project_id, Job.status == JobStatus.succeeded),
    )


def overview(*, db: Session, project_id: int) -> ProjectOverview:
    """Counts of the project's samples, impulses, runs, builds and runs on a board."""
    live = (Sample.project_id == project_id, Sample.deleted_at.is_(None))
    usable = (*live, Sample.enabled.is_(True))
    actions = dict(
        db.execute(
            select(ActivityEvent.action, func.count())
            .where(
                ActivityEvent.project_id == project_id,
                ActivityEvent.action.in_([DEVICE_TESTED, VIRTUAL_BOARD_STARTED]),
            )
            .group_by(ActivityEvent.action)
        ).all()
    )
    return ProjectOverview(
        samples=_count(db, select(func.count()).where(*live)),
        trashed_samples=_count(
            db,
            select(func.count()).where(
                Sample.project_id == project_id, Sample.deleted_at.is_not(None)
            ),
        ),
        training_labels=_count(
            db,
            select(func.count(distinct(Sample.label))).where(
                *usable, Sample.category == Category.training, Sample.label.is_not(None)
            ),
        ),
        testing_samples=_count(
            db, select(func.count()).where(*usable, Sample.category == Category.testing)
        ),
        impulses=_count(db, select(func.count()).where(Impulse.project_id == project_id)),
        training_runs=_count(db, select(func.count()).where(TrainingRun.project_id == project_id)),
        succeeded_training_runs=_succeeded(db, TrainingRun, project_id),
        deployments=_count(db, select(func.count()).where(Deployment.project_id == project_id)),
        succeeded_deployments=_succeeded(db, Deployment, project_id),
        device_tests=int(actions.get(DEVICE_TESTED, 0)),
        virtual_board_sessions=int(actions.get(VIRTUAL_BOARD_STARTED, 0)),
    )
