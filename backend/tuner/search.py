"""The search: Optuna's sampler and pruner over a study rebuilt from the run's trial rows.

The rows are the state. Asking for a trial, or asking the pruner about an epoch, rebuilds an
in-memory study from them, so any worker on any host can advance any run."""

from __future__ import annotations

import json
import logging
import warnings
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.db import get_sessionmaker, lock_row, utcnow
from backend.core.errors import ApiError
from backend.impulses import service as impulses
from backend.impulses.schemas import ImpulseSpec
from backend.jobs import service as jobs
from backend.jobs.models import Job, JobStatus
from backend.tuner import results
from backend.tuner.models import IN_FLIGHT, RunStatus, TrialStatus, TunerRun, TunerTrial

logger = logging.getLogger("tinystudio.tuner")

# Hyperband's rungs grow by this factor (Optuna's default).
REDUCTION_FACTOR = 3
# Without a parallel_trials setting, trials in flight follow the workers up to this many.
MAX_AUTO_IN_FLIGHT = 16
# TPE samples at random until this many trials exist (fewer for small runs).
STARTUP_TRIALS = 8


def _optuna() -> Any:
    """Optuna, imported when a search needs it (the API process loads it on its first run)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _sampler(optuna: Any, settings: dict[str, Any], number: int) -> Any:
    """The run's sampler, seeded per trial number so a run repeats exactly."""
    seed = int(settings["seed"]) + number
    if settings["sampler"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():
        # `group` is marked experimental; it keeps conditional parameters apart.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Constraints need no constraints_func (deprecated in Optuna 5): TPE reads them from
        # each finished trial's system attrs, which _frozen() sets.
        return optuna.samplers.TPESampler(
            seed=seed, constant_liar=True, multivariate=True, group=True,
            n_startup_trials=min(STARTUP_TRIALS, int(settings["max_trials"]) // 3),
        )  # fmt: skip


def min_resource(max_epochs: int) -> int:
    """Epochs every trial trains before the pruner may stop it: a quarter, 1 to 10 (small data
    makes early validation accuracy noisy, so the first rung comes late)."""
    return max(1, min(10, max_epochs // 4))


def _pruner(optuna: Any, settings: dict[str, Any]) -> Any:
    max_epochs = int(settings["max_epochs"])
    return optuna.pruners.HyperbandPruner(
        min_resource=min_resource(max_epochs), max_resource=max_epochs,
        reduction_factor=REDUCTION_FACTOR,
    )  # fmt: skip


def _frozen(optuna: Any, trial: TunerTrial, budgets: dict[str, Any]) -> Any:
    """One trial row as Optuna's FrozenTrial."""
    from optuna.distributions import json_to_distribution
    from optuna.trial import TrialState, create_trial

    intermediate = {int(step): float(value) for step, value in (trial.intermediate or {}).items()}
    common: dict[str, Any] = {
        "params": trial.params or {},
        "distributions": {
            name: json_to_distribution(json.dumps(raw))
            for name, raw in (trial.distributions or {}).items()
        },
        "intermediate_values": intermediate,
        "system_attrs": dict(trial.optuna_attrs or {}),
    }
    if trial.status == TrialStatus.succeeded:
        return create_trial(
            state=TrialState.COMPLETE, value=results.objective(trial) or 0.0,
            constraints=results.excess(trial, budgets), **common,
        )  # fmt: skip
    if trial.status == TrialStatus.over_budget:
        # Never trained: infeasible, which constrained TPE ranks below every feasible trial
        # whatever the value.
        return create_trial(
            state=TrialState.COMPLETE, value=0.0, constraints=results.excess(trial, budgets),
            **common,
        )  # fmt: skip
    if trial.status == TrialStatus.pruned:
        last = intermediate[max(intermediate)] if intermediate else None
        return create_trial(state=TrialState.PRUNED, value=last, **common)
    if trial.status in IN_FLIGHT:
        # Still running: TPE's constant liar keeps new trials away from these parameters.
        return create_trial(state=TrialState.RUNNING, **common)
    return create_trial(state=TrialState.FAIL, **common)


def _study(optuna: Any, run: TunerRun, trials: list[TunerTrial], sampler: Any) -> Any:
    study = optuna.create_study(
        study_name=f"tuner-run-{run.id}", direction="maximize", sampler=sampler,
        pruner=_pruner(optuna, run.settings),
    )  # fmt: skip
    # Added in order, so Optuna's trial numbers are the rows' numbers.
    for trial in trials:
        study.add_trial(_frozen(optuna, trial, run.budgets))
    return study


def _trials(db: Session, run_id: int) -> list[TunerTrial]:
    return list(
        db.scalars(
            select(TunerTrial).where(TunerTrial.run_id == run_id).order_by(TunerTrial.number)
        )
    )


def lock_run(*, db: Session, run_id: int) -> None:
    """Makes advancing a run happen one at a time until commit (trials may still be added)."""
    lock_row(db, TunerRun, run_id)


def transition(
    db: Session, trial: TunerTrial, from_statuses: frozenset[str], **values: Any
) -> bool:
    """Moves a trial on only if it still is in one of `from_statuses` (a task and the run's
    upkeep may both try); reloads it either way."""
    if "status" in values and values["status"] not in IN_FLIGHT:
        values.setdefault("finished_at", utcnow())
    result = db.execute(
        update(TunerTrial)
        .where(TunerTrial.id == trial.id, TunerTrial.status.in_(from_statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.refresh(trial)
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _reconcile(db: Session, trials: list[TunerTrial]) -> None:
    """Ends trials whose job ended without moving them on (a killed worker, a reaped job)."""
    for trial in trials:
        if trial.status not in IN_FLIGHT:
            continue
        on_board = trial.status in (TrialStatus.sizing, TrialStatus.measuring)
        job_id = trial.measure_job_id if on_board else trial.train_job_id
        job = db.get(Job, job_id) if job_id is not None else None
        stage = {TrialStatus.sizing: "sizing", TrialStatus.measuring: "measurement"}.get(
            TrialStatus(trial.status), "training"
        )
        if job is None:
            status, error = TrialStatus.failed, f"the {stage} job no longer exists"
        elif job.status == JobStatus.failed:
            status, error = TrialStatus.failed, job.error or f"the {stage} job failed"
        elif job.status == JobStatus.cancelled:
            status, error = TrialStatus.cancelled, f"the {stage} job was cancelled"
        elif job.status == JobStatus.succeeded:
            status, error = TrialStatus.failed, f"the {stage} job ended without a result"
        else:
            continue
        transition(db, trial, frozenset({trial.status}), status=status, error=error)


def _ask(db: Session, run: TunerRun, trials: list[TunerTrial]) -> tuple[TunerTrial, Job | None]:
    """A new trial from the sampler, with its sizing job added (enqueued after commit): the
    untrained network is measured on the board first, and trained only if it can fit."""
    from optuna.distributions import distribution_to_json

    from workers.tuner.space import DataFacts, propose

    settings = run.settings
    number = len(trials)
    if number == 0 and settings.get("start"):
        return _start(db, run)
    optuna = _optuna()
    study = _study(optuna, run, trials, _sampler(optuna, settings, number))
    asked = study.ask()
    facts = DataFacts(**settings["facts"])
    row = TunerTrial(run_id=run.id, number=number, status=TrialStatus.sizing, spec={})
    try:
        proposed = ImpulseSpec.model_validate(
            propose(
                asked,
                facts=facts,
                dsp_blocks=settings["dsp_blocks"],
                learn_blocks=settings["learn_blocks"],
                max_epochs=int(settings["max_epochs"]),
            )
        )
        for block in proposed.learn:
            # One seed for every trial: the same validation split, so accuracies compare.
            block.params["seed"] = int(settings["seed"])
        impulses.shapes(proposed, facts.axes, facts.n_classes)
        row.spec = proposed.model_dump(mode="json")
    except (ApiError, ValueError, TypeError, KeyError) as exc:
        # A proposal the blocks refuse fails this trial only; the search goes on.
        message = exc.detail["message"] if isinstance(exc, ApiError) else str(exc)  # type: ignore[index]
        row.status, row.error, row.finished_at = TrialStatus.failed, message, utcnow()
    row.params = dict(asked.params)
    row.distributions = {
        name: json.loads(distribution_to_json(dist)) for name, dist in asked.distributions.items()
    }
    row.optuna_attrs = dict(study.get_trials(deepcopy=False)[number].system_attrs)
    db.add(row)
    db.flush()
    if row.status != TrialStatus.sizing:
        return row, None
    return row, _size(db, run, row)


def _start(db: Session, run: TunerRun) -> tuple[TunerTrial, Job]:
    """Trial 0 of a run that starts from an impulse: that impulse, unsearched. Its empty params
    keep it out of TPE's densities, but its score still ranks the searched trials."""
    spec = ImpulseSpec.model_validate(run.settings["start"])
    for block in spec.learn:
        block.params["seed"] = int(run.settings["seed"])
    row = TunerTrial(
        run_id=run.id, number=0, status=TrialStatus.sizing, spec=spec.model_dump(mode="json"),
        params={}, distributions={}, optuna_attrs={},
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row, _size(db, run, row)


def _size(db: Session, run: TunerRun, row: TunerTrial) -> Job:
    """The trial's sizing job, added (enqueued by the caller after commit)."""
    owner = db.get(User, run.created_by_id) if run.created_by_id else None
    job = jobs.add(
        db=db, project_id=run.project_id, kind="tuner.size", params={"trial_id": row.id},
        user=owner,
    )  # fmt: skip
    row.measure_job_id = job.id
    return job


def _time_spent(run: TunerRun) -> bool:
    budget = run.settings.get("time_budget_s")
    return budget is not None and utcnow() - run.created_at >= timedelta(seconds=int(budget))


def _finish(run: TunerRun, trials: list[TunerTrial]) -> None:
    best = results.best_trial(trials)
    counts = {status: sum(1 for t in trials if t.status == status) for status in TrialStatus}
    ended = (TrialStatus.succeeded, TrialStatus.over_budget, TrialStatus.pruned,
             TrialStatus.failed, TrialStatus.cancelled)  # fmt: skip
    done = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in ended if counts[s])
    spent = " (time budget spent)" if len(trials) < int(run.settings["max_trials"]) else ""
    run.best_trial_id = best.id if best else None
    run.finished_at = utcnow()
    if results.sized(trials):
        run.status = RunStatus.succeeded
        run.message = f"{len(trials)} trials{spent}: {done}"
    else:
        first_error = next((t.error for t in trials if t.error), None)
        run.status = RunStatus.failed
        run.message = f"no trial was measured ({done}); the first error: {first_error}"


def advance(*, run_id: int) -> None:
    """Moves a run on, one caller at a time: ends trials whose jobs ended badly, asks new ones
    until `parallel_trials` are in flight, or without that setting until one waits for a worker
    (within max_trials and the time budget), and finishes the run once nothing is in flight and
    nothing more will be asked."""
    started: list[Job] = []
    with get_sessionmaker()() as db:
        lock_run(db=db, run_id=run_id)
        run = db.get(TunerRun, run_id)
        if run is None or run.status != RunStatus.running:
            db.commit()
            return
        trials = _trials(db, run_id)
        _reconcile(db, trials)
        settings = run.settings
        in_flight = sum(1 for t in trials if t.status in IN_FLIGHT)
        while (
            _wants_more(db, settings, trials, in_flight)
            and len(trials) < int(settings["max_trials"])
            and not _time_spent(run)
        ):
            trial, job = _ask(db, run, trials)
            trials.append(trial)
            if job is not None:
                started.append(job)
                in_flight += 1
        if in_flight == 0:
            _finish(run, trials)
            logger.info("tuner run %s %s: %s", run.id, run.status, run.message)
        db.commit()
        for job in started:
            jobs.enqueue(db=db, job=job)


def _wants_more(
    db: Session, settings: dict[str, Any], trials: list[TunerTrial], in_flight: int
) -> bool:
    """Whether another trial may start: below `parallel_trials`; without it, while no trial
    waits for a worker, so any number of workers on any hosts stay busy (each task start
    advances the run) and one trial is always ready for the next free worker."""
    limit = settings.get("parallel_trials")
    if limit is not None:
        return in_flight < int(limit)
    if in_flight >= MAX_AUTO_IN_FLIGHT:
        return False
    # A trial's job waiting in its queue: sizing and measuring use measure_job_id.
    job_ids = [
        t.train_job_id if t.status == TrialStatus.queued else t.measure_job_id
        for t in trials
        if t.status in IN_FLIGHT and t.status != TrialStatus.training
    ]
    waiting = db.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.id.in_([i for i in job_ids if i is not None]), Job.status == JobStatus.queued)
    )
    return not waiting


def advance_running(*, db: Session) -> int:
    """Advances every running run (the API's periodic upkeep); returns how many."""
    run_ids = list(db.scalars(select(TunerRun.id).where(TunerRun.status == RunStatus.running)))
    for run_id in run_ids:
        try:
            advance(run_id=run_id)
        except Exception:  # one run's trouble must not hold up the others
            logger.exception("advancing tuner run %s failed", run_id)
    return len(run_ids)


def settle(*, trial_id: int, status: TrialStatus, error: str | None = None) -> None:
    """Ends an in-flight trial (a task's last word when it stops) and moves its run on."""
    with get_sessionmaker()() as db:
        trial = db.get(TunerTrial, trial_id)
        if trial is None:
            return
        transition(db, trial, IN_FLIGHT, status=status, error=error)
        db.commit()
        run_id = trial.run_id
    advance(run_id=run_id)


def report_epoch(*, trial_id: int, epoch: int, value: float) -> bool:
    """Records a training trial's validation accuracy after `epoch`; whether to prune it.

    The study is rebuilt with this trial running; Hyperband keeps its rung values in the
    trial's system attrs, which are stored back on the row."""
    optuna = _optuna()
    with get_sessionmaker()() as db:
        trial = db.get(TunerTrial, trial_id)
        run = db.get(TunerRun, trial.run_id) if trial is not None else None
        if trial is None or run is None or trial.status != TrialStatus.training:
            return False
        trial.intermediate = {**(trial.intermediate or {}), str(epoch): float(value)}
        db.flush()
        study = _study(optuna, run, _trials(db, run.id), optuna.samplers.RandomSampler())
        frozen = study.get_trials(deepcopy=False)[trial.number]
        prune = bool(study.pruner.prune(study, frozen))
        attrs = study.get_trials(deepcopy=False)[trial.number].system_attrs
        trial.optuna_attrs = {k: v for k, v in attrs.items() if not k.startswith("constraints")}
        db.commit()
        return prune
