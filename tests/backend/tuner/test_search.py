"""The search's state lives in the trial rows: Optuna studies rebuilt from them prune by
Hyperband's rungs, finished runs name their best (or closest) trial, and trials whose jobs ended
behind the run's back are ended by the run's upkeep."""

from __future__ import annotations

from typing import Any

import pytest

BUDGETS = {"ram_bytes": 8192, "flash_bytes": 65536, "latency_ms": 10.0}
DISTRIBUTIONS = {
    "units": {
        "name": "IntDistribution",
        "attributes": {"low": 4, "high": 64, "step": 1, "log": False},
    }
}


@pytest.fixture()
def make_run(make_project):  # type: ignore[no-untyped-def]
    """Factory: a tuner run row (no data needed) with trials of given states."""
    from backend.accounts.models import User
    from backend.core.db import get_sessionmaker
    from backend.datasets import versions
    from backend.tuner.models import TunerRun, TunerTrial

    def make(trials: list[dict[str, Any]], **settings: Any) -> int:
        pid, people = make_project()
        with get_sessionmaker()() as db:
            owner = db.get(User, people["owner"].id)
            data = versions.create_version(db=db, project_id=pid, name="snapshot", user=owner)
            run = TunerRun(
                project_id=pid, created_by_id=people["owner"].id, dataset_version_id=data.id,
                board_id="virtual-cortex-m4", budgets=BUDGETS,
                settings={
                    "max_trials": len(trials), "time_budget_s": None, "parallel_trials": 2,
                    "sampler": "tpe", "seed": 1, "dsp_blocks": ["flatten"],
                    "learn_blocks": ["classifier-dense"], "max_epochs": 9, **settings,
                },
            )  # fmt: skip
            db.add(run)
            db.flush()
            for number, fields in enumerate(trials):
                db.add(
                    TunerTrial(
                        run_id=run.id,
                        number=number,
                        spec={},
                        distributions=DISTRIBUTIONS,
                        params={"units": 8 + number},
                        **fields,
                    )  # fmt: skip
                )
            db.commit()
            return run.id

    return make


def _measured(
    accuracy: float,
    ram: int,
    flash: int = 20_000,
    latency: float = 2.0,
    loss: float | None = None,
    windows: int | None = None,
) -> dict:  # type: ignore[type-arg]
    return {
        "status": "succeeded",
        "accuracy": {
            "int8_validation": accuracy, "int8_validation_loss": loss,
            "validation_windows": windows,
        },
        "ram_bytes": ram,
        "flash_bytes": flash, "latency_ms": latency, "fits": ram <= 8192 and flash <= 65536
        and latency <= 10.0, "intermediate": {"1": accuracy / 2, "3": accuracy},
    }  # fmt: skip


def _trials(run_id: int) -> list[Any]:
    from backend.core.db import get_sessionmaker
    from backend.tuner import search

    with get_sessionmaker()() as db:
        return search._trials(db, run_id)


def test_a_trial_behind_the_others_at_a_rung_is_pruned_and_the_rung_is_kept(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import search
    from backend.tuner.models import TunerTrial

    # Two epochs: one Hyperband bracket, its first rung after epoch 1.
    run_id = make_run(
        [_measured(0.9, 4000), _measured(0.8, 5000), {"status": "training"}], max_epochs=2
    )
    leader, second, running = _trials(run_id)
    assert search.min_resource(2) == 1
    # Rung values live in the rows; the finished trials reached rung 0 with these.
    for trial, value in ((leader, 0.6), (second, 0.55)):
        with get_sessionmaker()() as db:
            row = db.get(TunerTrial, trial.id)
            assert row is not None
            row.optuna_attrs = {"completed_rung_0": value}
            db.commit()

    assert search.report_epoch(trial_id=running.id, epoch=1, value=0.2) is True
    stored = _trials(run_id)[2]
    assert stored.intermediate == {"1": 0.2}
    assert stored.optuna_attrs == {"completed_rung_0": 0.2}


def test_a_leading_trial_is_promoted_and_keeps_training(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.tuner import search

    run_id = make_run([{"status": "training"}], max_epochs=2)
    (only,) = _trials(run_id)
    assert search.report_epoch(trial_id=only.id, epoch=1, value=0.5) is False
    assert search.report_epoch(trial_id=only.id, epoch=2, value=0.6) is False
    stored = _trials(run_id)[0]
    assert stored.intermediate == {"1": 0.5, "2": 0.6}
    assert stored.optuna_attrs == {"completed_rung_0": 0.5}


def test_a_finished_run_names_the_best_fitting_trial_ties_to_less_ram(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import results, search
    from backend.tuner.models import TunerRun

    run_id = make_run(
        [
            _measured(0.97, 9000),  # more accurate, but over the RAM budget
            _measured(0.9, 6000),
            _measured(0.9, 5000),
            {"status": "pruned", "intermediate": {"1": 0.3}},
            {"status": "failed", "error": "the data cannot take it"},
        ]
    )
    search.advance(run_id=run_id)
    trials = _trials(run_id)
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None
        assert run.status == "succeeded" and run.best_trial_id == trials[2].id
        assert run.message == "5 trials: 3 succeeded, 1 pruned, 1 failed"
        out = results.run_out(run, trials)
    assert out.best_accuracy == 0.9 and out.trials_done == 5
    assert out.result_note is not None and out.result_note.startswith("trial 2 is best: 90.0 %")
    assert [t.best for t in out.trials] == [False, False, True, False, False]
    # Trial 0 is the most accurate, trial 2 the smallest: both on the front; trial 1 is not.
    assert [t.pareto for t in out.trials] == [True, False, True, False, False]


def test_among_equally_accurate_trials_the_lower_validation_loss_wins(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import search
    from backend.tuner.models import TunerRun

    run_id = make_run(
        [
            _measured(1.0, 5000, loss=0.30, windows=40),  # smallest, but least sure
            _measured(1.0, 7000, loss=0.05, windows=40),
            _measured(1.0, 6000, loss=0.12, windows=40),
            _measured(0.95, 4000, loss=0.01, windows=40),  # surer, but two windows worse
        ]
    )
    search.advance(run_id=run_id)
    trials = _trials(run_id)
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None and run.best_trial_id == trials[1].id


def test_one_validation_window_is_within_the_noise(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import results, search
    from backend.tuner.models import TunerRun

    run_id = make_run(
        [
            _measured(1.0, 5000, loss=0.09, windows=68),
            _measured(67 / 68, 5000, loss=0.03, windows=68),  # one window fewer, far surer
            _measured(66 / 68, 5000, loss=0.01, windows=68),  # two fewer: really worse
        ]
    )
    search.advance(run_id=run_id)
    trials = _trials(run_id)
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None and run.best_trial_id == trials[1].id
        note = results.result_note(run, trials)
    assert note is not None and note.startswith(
        "trial 1 is best: 98.5 % int8 validation accuracy (one validation window from the "
        "highest, with the lowest validation loss)"
    )


def test_nothing_fits_names_the_closest_trial_and_its_figure(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import results, search
    from backend.tuner.models import TunerRun

    run_id = make_run(
        [_measured(0.9, 9120), _measured(0.95, 20_000), _measured(0.9, 4000, latency=30.0)]
    )
    search.advance(run_id=run_id)
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None and run.status == "succeeded" and run.best_trial_id is None
        note = results.result_note(run, _trials(run_id))
    assert note == "no trial fits; closest: trial 0 needs 9,120 B RAM (budget 8,192 B)"


def test_trials_whose_jobs_ended_behind_the_runs_back_are_ended(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker, utcnow
    from backend.jobs.models import Job
    from backend.tuner import search
    from backend.tuner.models import TunerRun, TunerTrial

    run_id = make_run([_measured(0.9, 4000), {"status": "training"}, {"status": "measuring"}])
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None
        reaped = Job(
            project_id=run.project_id, kind="tuner.trial", status="failed", finished_at=utcnow(),
            error="the worker running this job stopped (crashed or was killed)",
        )  # fmt: skip
        cancelled = Job(project_id=run.project_id, kind="tuner.measure", status="cancelled")
        db.add_all([reaped, cancelled])
        db.flush()
        trials = search._trials(db, run_id)
        for trial, job in ((trials[1], reaped), (trials[2], cancelled)):
            row = db.get(TunerTrial, trial.id)
            assert row is not None
            if trial.status == "training":
                row.train_job_id = job.id
            else:
                row.measure_job_id = job.id
        db.commit()
    search.advance(run_id=run_id)
    _, training, measuring = _trials(run_id)
    assert training.status == "failed" and "worker running this job stopped" in (
        training.error or ""
    )
    assert measuring.status == "cancelled" and measuring.finished_at is not None
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        assert run is not None and run.status == "succeeded"


def test_without_a_limit_a_trial_is_asked_whenever_none_waits_for_a_worker(make_run) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.jobs.models import Job, JobStatus
    from backend.tuner import search
    from backend.tuner.models import TunerRun

    run_id = make_run([{"status": "training"}, {"status": "sizing"}], parallel_trials=None)
    with get_sessionmaker()() as db:
        run = db.get(TunerRun, run_id)
        trials = search._trials(db, run_id)
        sizing = Job(project_id=run.project_id, kind="tuner.size", status=JobStatus.queued)
        db.add(sizing)
        db.flush()
        trials[1].measure_job_id = sizing.id
        db.flush()
        # The sizing job waits in its queue: every worker is busy, so no new trial yet.
        assert not search._wants_more(db, run.settings, trials, in_flight=2)
        # A worker took it: another trial may wait for the next free worker.
        sizing.status = JobStatus.running
        db.flush()
        assert search._wants_more(db, run.settings, trials, in_flight=2)
        assert not search._wants_more(db, run.settings, trials, search.MAX_AUTO_IN_FLIGHT)
        # A set limit counts trials in flight, whatever their jobs do.
        assert not search._wants_more(db, {**run.settings, "parallel_trials": 2}, trials, 2)
        assert search._wants_more(db, {**run.settings, "parallel_trials": 3}, trials, 2)
