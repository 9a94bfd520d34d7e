"""Tuner operations: check a run against the board and the data and start it, read, cancel, and
apply a trial as a new impulse version with a training run ready to deploy."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.db import utcnow
from backend.core.errors import ApiError, conflict, not_found
from backend.datasets import versions
from backend.datasets.models import Category, DatasetVersion, Sample
from backend.impulses import service as impulses
from backend.impulses.models import Impulse, TrainingRun
from backend.impulses.schemas import ImpulseSpec
from backend.impulses.training import run_metrics
from backend.jobs import service as jobs
from backend.jobs.models import TERMINAL_STATUSES, Job, JobStatus
from backend.projects import service as projects
from backend.tuner import search
from backend.tuner.models import IN_FLIGHT, RunStatus, TrialStatus, TunerRun, TunerTrial
from backend.tuner.schemas import (
    Budgets,
    TunerApplyOut,
    TunerDefaults,
    TunerRunCreate,
    TunerSettings,
)
from workers import dsp, learn
from workers.boards import Board, BoardNotFoundError, get_board

DEFAULT_BOARD = "virtual-cortex-m4"
DEFAULT_MAX_TRIALS = 30
# Without a base impulse to take the stride from: one decision a second.
DEFAULT_LATENCY_MS = 1000.0
# Budgets default to this share of the board's memory (the rest is the application's).
BOARD_SHARE = 0.5


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_tuner_run", f"{field}: {message}", field=field)


def refuse(field: str, message: str) -> ApiError:
    return ApiError(400, "cannot_tune", message, field=field)


def board(board_id: str) -> Board:
    """A catalogued board whose figures the tuner can measure, or a 422 naming why not."""
    try:
        found = get_board(board_id)
    except BoardNotFoundError as exc:
        raise invalid("board_id", str(exc.args[0])) from None
    if found.core_info.profile_on is None:
        raise invalid(
            "board_id",
            f"{found.name} cannot be measured: "
            f"{found.core_info.profile_note or 'no virtual board runs its core'}",
        )
    return found


def _base_impulse(db: Session, project_id: int, impulse_id: int | None) -> ImpulseSpec | None:
    if impulse_id is None:
        return None
    impulse = db.get(Impulse, impulse_id)
    if impulse is None or impulse.project_id != project_id:
        raise invalid("impulse_id", f"impulse {impulse_id} not found in this project")
    return ImpulseSpec.model_validate(impulses.current_version(db=db, impulse=impulse).spec)


def data_facts(entries: Sequence[dict[str, Any]], frequency_hz: float | None) -> Any:
    """What the search needs to know of the data (workers.tuner.space.DataFacts)."""
    from workers.tuner.space import DataFacts

    durations = [e["length"] * e["interval_ms"] for e in entries]
    labels = {e["label"] for e in entries if e["category"] == Category.training and e["label"]}
    return DataFacts(
        axes=int(entries[0]["axes"]),
        frequency_hz=float(frequency_hz or max(1000.0 / e["interval_ms"] for e in entries)),
        shortest_sample_ms=float(min(durations)),
        longest_sample_ms=float(max(durations)),
        n_classes=len(labels),
        # WAV uploads keep "wav" as their units: one channel of those is audio.
        audio=int(entries[0]["axes"]) == 1
        and all(s.get("units") == "wav" for e in entries for s in e["sensors"]),
    )


def _live_entries(db: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's enabled samples, shaped like a dataset version's entries."""
    rows = db.execute(
        select(
            Sample.axes, Sample.length, Sample.interval_ms, Sample.label, Sample.category,
            Sample.sensors,
        ).where(
            Sample.project_id == project_id, Sample.deleted_at.is_(None), Sample.enabled.is_(True)
        )
    )  # fmt: skip
    return [dict(row._mapping) for row in rows]


def _check_data(entries: Sequence[dict[str, Any]]) -> None:
    """Refuses a run whose trials could only fail: say what to change instead."""
    training = [e for e in entries if e["category"] == Category.training]
    if not training:
        raise refuse("dataset", "there is no enabled training data: upload or move samples")
    if not any(e["category"] == Category.testing for e in entries):
        raise refuse(
            "dataset", "there is no testing data: move some samples to testing (or 'rebalance')"
        )
    labels = sorted({e["label"] for e in training if e["label"] is not None})
    if len(labels) < 2:
        raise refuse(
            "dataset",
            f"the tuner trains classifiers, which need two labels in the training data; it has "
            f"{len(labels)} ({', '.join(labels) or 'none'})",
        )
    axes = sorted({e["axes"] for e in entries})
    if len(axes) > 1:
        raise refuse("dataset", f"the samples have different axis counts ({axes})")


def _blocks(
    field: str, chosen: list[str] | None, allowed: list[str], known: Sequence[str]
) -> list[str]:
    if chosen is None:
        return list(allowed)
    if not chosen:
        raise invalid(field, "choose at least one block (or leave it out for every fitting one)")
    for name in chosen:
        if name not in known:
            raise invalid(field, f"unknown block {name!r} (known: {', '.join(sorted(known))})")
        if name not in allowed:
            raise invalid(
                field, f"{name} does not fit this data or the tuner (fitting: {', '.join(allowed)})"
            )
    return list(dict.fromkeys(chosen))


def _budgets(chosen: Any, target: Board, base: ImpulseSpec | None) -> Budgets:
    budgets = Budgets(
        ram_bytes=int(target.ram_bytes * BOARD_SHARE),
        flash_bytes=int(target.flash_bytes * BOARD_SHARE),
        latency_ms=base.input.stride_ms if base is not None else DEFAULT_LATENCY_MS,
    )
    if chosen is not None:
        budgets = budgets.model_copy(update=chosen.model_dump(exclude_none=True))
    if budgets.ram_bytes > target.ram_bytes:
        raise invalid(
            "budgets.ram_bytes",
            f"{budgets.ram_bytes:,} B is more than {target.name}'s {target.ram_bytes:,} B of RAM",
        )
    if budgets.flash_bytes > target.flash_bytes:
        raise invalid(
            "budgets.flash_bytes",
            f"{budgets.flash_bytes:,} B is more than {target.name}'s {target.flash_bytes:,} B "
            "of flash",
        )
    return budgets


def defaults(
    *, db: Session, project_id: int, board_id: str | None, impulse_id: int | None
) -> TunerDefaults:
    """What a new run starts from: the board's budgets and the blocks that fit the data."""
    from workers.tuner.space import allowed_blocks

    target = board(board_id or DEFAULT_BOARD)
    base = _base_impulse(db, project_id, impulse_id)
    entries = _live_entries(db, project_id)
    dsp_blocks: list[str] = []
    learn_blocks: list[str] = []
    if entries:
        facts = data_facts(entries, base.input.frequency_hz if base else None)
        dsp_blocks, learn_blocks = allowed_blocks(facts)
    return TunerDefaults(
        board_id=target.id, budgets=_budgets(None, target, base),
        board_ram_bytes=target.ram_bytes, board_flash_bytes=target.flash_bytes,
        dsp_blocks=dsp_blocks, learn_blocks=learn_blocks, max_trials=DEFAULT_MAX_TRIALS,
        parallel_trials=None,
    )  # fmt: skip


def create(*, db: Session, project_id: int, body: TunerRunCreate, user: User) -> TunerRun:
    """Checks a run against the board and the data, stores it and asks for its first trials."""
    from workers.tuner.space import (
        SearchSpaceError,
        allowed_blocks,
        check_blocks,
        starting_point,
    )

    target = board(body.board_id)
    base = _base_impulse(db, project_id, body.impulse_id)
    budgets = _budgets(body.budgets, target, base)
    if body.dataset_version_id is not None:
        data = db.get(DatasetVersion, body.dataset_version_id)
        if data is None or data.project_id != project_id:
            raise invalid(
                "dataset_version_id", f"dataset version {body.dataset_version_id} not found"
            )
    else:
        data = versions.create_version(
            db=db, project_id=project_id, name=f"tuner on {target.id}", user=user
        )
    _check_data(data.entries)
    facts = data_facts(data.entries, base.input.frequency_hz if base else None)
    allowed_dsp, allowed_learn = allowed_blocks(facts)
    settings = TunerSettings(
        max_trials=body.max_trials, time_budget_s=body.time_budget_s,
        parallel_trials=body.parallel_trials, sampler=body.sampler, seed=body.seed,
        dsp_blocks=_blocks("dsp_blocks", body.dsp_blocks, allowed_dsp, list(dsp.BLOCKS)),
        learn_blocks=_blocks(
            "learn_blocks", body.learn_blocks, allowed_learn, list(learn.LEARN_BLOCKS)
        ),
        max_epochs=body.max_epochs,
    )  # fmt: skip
    try:
        check_blocks(settings.dsp_blocks, settings.learn_blocks)
    except SearchSpaceError as exc:
        raise invalid(exc.field, exc.message) from None
    start, start_note = None, None
    if base is not None:
        try:
            start = starting_point(
                base.model_dump(mode="json"), facts=facts, dsp_blocks=settings.dsp_blocks,
                learn_blocks=settings.learn_blocks, max_epochs=settings.max_epochs,
            )  # fmt: skip
        except SearchSpaceError as exc:
            # The search still runs; the page says why the user's impulse is not a trial.
            start_note = f"Your impulse is not one of the trials: {exc.message}."
    run = TunerRun(
        project_id=project_id, created_by_id=user.id, impulse_id=body.impulse_id,
        dataset_version_id=data.id, board_id=target.id, budgets=budgets.model_dump(),
        # The data's facts are kept with the run: every trial is proposed for the same data.
        settings={**settings.model_dump(), "facts": dataclasses.asdict(facts), "start": start,
                  "start_note": start_note},
        status=RunStatus.running,
    )  # fmt: skip
    db.add(run)
    db.flush()
    projects.record(
        db=db, project_id=project_id, action="tuner.started", user=user, run_id=run.id,
        board_id=target.id,
    )  # fmt: skip
    db.commit()
    search.advance(run_id=run.id)
    db.refresh(run)
    return run


def get(*, db: Session, project_id: int, run_id: int) -> TunerRun:
    """Gets a tuner run of a project by its id."""
    run = db.get(TunerRun, run_id)
    if run is None or run.project_id != project_id:
        raise not_found("tuner run")
    return run


def list_runs(*, db: Session, project_id: int) -> list[TunerRun]:
    """The project's tuner runs, newest first."""
    return list(
        db.scalars(
            select(TunerRun).where(TunerRun.project_id == project_id).order_by(TunerRun.id.desc())
        )
    )


def trials(*, db: Session, run_ids: Sequence[int]) -> dict[int, list[TunerTrial]]:
    """The trials of some runs, by run, in trial order."""
    by_run: dict[int, list[TunerTrial]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        rows = db.scalars(
            select(TunerTrial)
            .where(TunerTrial.run_id.in_(run_ids))
            .order_by(TunerTrial.run_id, TunerTrial.number)
        )
        for trial in rows:
            by_run[trial.run_id].append(trial)
    return by_run


def cancel(*, db: Session, run: TunerRun, user: User) -> TunerRun:
    """Stops a run: its unfinished trials are cancelled and so are their jobs."""
    search.lock_run(db=db, run_id=run.id)
    db.refresh(run)
    if run.status != RunStatus.running:
        raise conflict("tuner_run_finished", f"the tuner run already {run.status}")
    run.status = RunStatus.cancelled
    run.finished_at = utcnow()
    run.message = f"cancelled by {user.username}"
    stopping: list[int] = []
    for trial in trials(db=db, run_ids=[run.id])[run.id]:
        if trial.status in IN_FLIGHT:
            stopping += [j for j in (trial.train_job_id, trial.measure_job_id) if j is not None]
            search.transition(
                db, trial, IN_FLIGHT, status=TrialStatus.cancelled, error="the run was cancelled"
            )
    projects.record(
        db=db, project_id=run.project_id, action="tuner.cancelled", user=user, run_id=run.id
    )
    db.commit()
    for job_id in stopping:
        job = db.get(Job, job_id)
        if job is not None and job.status not in TERMINAL_STATUSES:
            try:
                jobs.cancel(db=db, job=job, user=user)
            except ApiError:  # it finished meanwhile: nothing left to stop
                db.rollback()
    db.refresh(run)
    return run


def apply(
    *, db: Session, run: TunerRun, trial_id: int, impulse_id: int | None, user: User
) -> TunerApplyOut:
    """Saves a measured trial's impulse as a new version (of the chosen impulse, else the run's,
    else a new one) with a training run holding the trial's trained model."""
    trial = db.get(TunerTrial, trial_id)
    if trial is None or trial.run_id != run.id:
        raise not_found("tuner trial")
    job = db.get(Job, trial.train_job_id) if trial.train_job_id else None
    if trial.status != TrialStatus.succeeded or job is None or job.status != JobStatus.succeeded:
        raise conflict(
            "trial_not_measured",
            f"trial {trial.number} is {trial.status}: only a trained and measured trial can be "
            "applied",
        )
    spec = ImpulseSpec.model_validate(trial.spec)
    target_id = impulse_id or run.impulse_id
    if target_id is None:
        impulse = impulses.create(
            db=db, project_id=run.project_id, spec=spec, user=user,
            name=f"Tuned for {run.board_id} (run {run.id}, trial {trial.number})",
        )  # fmt: skip
    else:
        found = db.get(Impulse, target_id)
        if found is None or found.project_id != run.project_id:
            raise invalid("impulse_id", f"impulse {target_id} not found in this project")
        impulse = found
        impulses.save(db=db, impulse=impulse, spec=spec, name=None, base_version=None, user=user)
    db.flush()
    version = impulses.current_version(db=db, impulse=impulse)
    training_run = TrainingRun(
        project_id=run.project_id, impulse_id=impulse.id, impulse_version_id=version.id,
        dataset_version_id=run.dataset_version_id, job_id=job.id, created_by_id=user.id,
        metrics=run_metrics(0, job.result or {}), artifacts=dict(trial.artifacts or {}),
    )  # fmt: skip
    db.add(training_run)
    db.flush()
    projects.record(
        db=db, project_id=run.project_id, action="tuner.applied", user=user, run_id=run.id,
        trial=trial.number, impulse_id=impulse.id, version=version.version,
        training_run_id=training_run.id,
    )  # fmt: skip
    db.commit()
    return TunerApplyOut(
        impulse_id=impulse.id, impulse_version=version.version, training_run_id=training_run.id
    )
