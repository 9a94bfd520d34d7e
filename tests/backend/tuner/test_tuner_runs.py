"""Tuner runs end to end on a real worker: trials trained with TensorFlow, built as firmware and
measured in QEMU; the best trial applied and deployed with the same figures; budgets nothing
meets; cancel; and a trial whose job dies behind the run's back."""

from __future__ import annotations

import time
from typing import Any

BOARD = "virtual-cortex-m4"
BASE = {
    "input": {"window_ms": 3000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True},
    "dsp": [{"block": "flatten", "params": {}}],
    "learn": [{"block": "classifier-dense", "params": {"epochs": 2}}],
}
# Small and quick: dense classifiers on the cheap DSP blocks, a few epochs.
QUICK = {
    "board_id": BOARD, "dsp_blocks": ["flatten", "spectral-analysis"],
    "learn_blocks": ["classifier-dense"], "max_epochs": 4, "seed": 3,
}  # fmt: skip


def _setup(client, make_project, upload_demo) -> tuple[int, dict[str, str], int]:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    h = people["owner"].headers
    upload_demo(client, pid, h, count=3, labels=("walking", "standing", "running"))
    impulse = client.post(
        f"/api/projects/{pid}/impulses", json={"name": "Motion", "spec": BASE}, headers=h
    ).json()
    return pid, h, impulse["id"]


def _wait_run(client, pid: int, run_id: int, headers, timeout: float = 240) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/projects/{pid}/tuner-runs/{run_id}", headers=headers).json()
        if run["status"] != "running":
            return run  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"tuner run {run_id} still running after {timeout} s: {run}")


def test_a_small_run_measures_trials_and_its_best_deploys_with_the_same_figures(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _setup(client, make_project, upload_demo)
    started = client.post(
        f"/api/projects/{pid}/tuner-runs",
        json={**QUICK, "impulse_id": impulse_id, "max_trials": 4},
        headers=h,
    )
    assert started.status_code == 202, started.text
    body = started.json()
    # As many at once as the workers take: one trial waits for the first free worker.
    assert body["status"] == "running" and len(body["trials"]) == 1
    assert body["budgets"] == {"ram_bytes": 2097152, "flash_bytes": 2097152, "latency_ms": 1000.0}

    run = _wait_run(client, pid, body["id"], h)
    assert run["status"] == "succeeded", run
    trials = run["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert {t["status"] for t in trials} <= {"succeeded", "pruned"}, trials
    measured = [t for t in trials if t["status"] == "succeeded"]
    assert measured and all(t["fits"] for t in measured)
    for trial in measured:
        assert trial["ram_bytes"] > 0 and trial["flash_bytes"] > 0 and trial["latency_ms"] > 0
        assert trial["instructions"] > 0 and trial["accuracy"]["int8_validation"] is not None
        assert trial["accuracy"]["int8_test"] is not None
        assert trial["spec"]["input"]["frequency_hz"] == 10
        assert all(trial["timings"][k] > 0 for k in ("features_s", "train_s", "measure_s"))
    # Trial 0 is the impulse the run started from, unsearched but trained as every trial is.
    start = trials[0]
    assert start["starting_point"] and start["params"] == {}
    assert run["starting_point_note"] is None
    assert not any(t["starting_point"] for t in trials[1:])
    assert start["spec"]["input"]["window_ms"] == BASE["input"]["window_ms"]
    assert start["spec"]["dsp"][0]["block"] == "flatten"
    learned = start["spec"]["learn"][0]["params"]
    assert (learned["epochs"], learned["validation_split"], learned["seed"]) == (4, 0.2, 3)
    best = next(t for t in trials if t["best"])
    assert run["best_trial_id"] == best["id"] and best["pareto"]
    assert run["best_accuracy"] == max(t["accuracy"]["int8_validation"] for t in measured)
    assert run["result_note"].startswith(f"trial {best['number']} is best")
    summaries = client.get(f"/api/projects/{pid}/tuner-runs", headers=h).json()
    assert summaries[0]["id"] == run["id"] and summaries[0]["trials_done"] == 4

    applied = client.post(
        f"/api/projects/{pid}/tuner-runs/{run['id']}/trials/{best['id']}/apply", json={}, headers=h
    )
    assert applied.status_code == 201, applied.text
    applied = applied.json()
    assert applied["impulse_id"] == impulse_id and applied["impulse_version"] == 2
    impulse = client.get(f"/api/projects/{pid}/impulses/{impulse_id}", headers=h).json()
    assert impulse["spec"] == best["spec"]
    training_run = client.get(
        f"/api/projects/{pid}/training-runs/{applied['training_run_id']}", headers=h
    ).json()
    assert training_run["status"] == "succeeded" and training_run["job_id"] == best["train_job_id"]
    assert {"model.keras", "model-float32.tflite", "model-int8.tflite", "metrics.json"} <= set(
        training_run["artifacts"]
    )
    int8 = training_run["metrics"]["evaluation"]["int8"]
    assert int8["validation"]["accuracy"] == best["accuracy"]["int8_validation"]

    deployment = client.post(
        f"/api/projects/{pid}/training-runs/{applied['training_run_id']}/deployments",
        json={"target": "firmware", "board_id": BOARD},
        headers=h,
    ).json()
    job = wait_job(client, pid, deployment["job_id"], h)
    assert job["status"] == "succeeded", job["error"]
    figures = client.get(f"/api/projects/{pid}/deployments/{deployment['id']}", headers=h).json()[
        "figures"
    ]
    assert figures["ram"]["impulse_bytes"] == best["ram_bytes"]
    assert figures["flash"]["impulse_bytes"] == best["flash_bytes"]


def test_budgets_nothing_meets_finish_naming_the_closest_trial(
    client, make_project, upload_demo, worker
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _setup(client, make_project, upload_demo)
    started = client.post(
        f"/api/projects/{pid}/tuner-runs",
        json={**QUICK, "max_trials": 1, "budgets": {"ram_bytes": 64}},
        headers=h,
    ).json()
    run = _wait_run(client, pid, started["id"], h)
    assert run["status"] == "succeeded" and run["best_trial_id"] is None, run
    (trial,) = run["trials"]
    # Sized on the board before training: over budget, so never trained.
    assert trial["status"] == "over_budget" and trial["fits"] is False and trial["ram_bytes"] > 64
    assert trial["train_job_id"] is None and trial["accuracy"]["int8_validation"] is None
    assert trial["timings"]["sizing_s"] > 0
    assert run["result_note"] == (
        f"no trial fits; closest: trial 0 needs {trial['ram_bytes']:,} B RAM (budget 64 B)"
    )
    assert run["impulse_id"] is None and not trial["starting_point"]
    refused = client.post(
        f"/api/projects/{pid}/tuner-runs/{run['id']}/trials/{trial['id']}/apply", json={}, headers=h
    )
    assert refused.status_code == 409
    # Without a base impulse, applying a trained trial makes a new impulse.
    started = client.post(
        f"/api/projects/{pid}/tuner-runs", json={**QUICK, "max_trials": 1}, headers=h
    ).json()
    run = _wait_run(client, pid, started["id"], h)
    (trial,) = run["trials"]
    assert trial["status"] == "succeeded", trial
    applied = client.post(
        f"/api/projects/{pid}/tuner-runs/{run['id']}/trials/{trial['id']}/apply", json={}, headers=h
    ).json()
    assert applied["impulse_id"] != impulse_id and applied["impulse_version"] == 1


def test_cancel_stops_the_trials_and_a_finished_run_stays_as_it_is(
    client, make_project, upload_demo, worker
) -> None:  # type: ignore[no-untyped-def]
    pid, h, _ = _setup(client, make_project, upload_demo)
    started = client.post(
        f"/api/projects/{pid}/tuner-runs",
        json={**QUICK, "max_trials": 20, "max_epochs": 500, "parallel_trials": 2},
        headers=h,
    ).json()
    url = f"/api/projects/{pid}/tuner-runs/{started['id']}"
    cancelled = client.post(f"{url}/cancel", headers=h)
    assert cancelled.status_code == 200, cancelled.text
    run = cancelled.json()
    assert run["status"] == "cancelled" and run["finished_at"] is not None
    assert len(run["trials"]) == 2 and {t["status"] for t in run["trials"]} == {"cancelled"}
    for trial in run["trials"]:
        # Cancelled while being sized on the board (or, if that was quick, while training).
        job_id = trial["train_job_id"] or trial["measure_job_id"]
        job = client.get(f"/api/projects/{pid}/jobs/{job_id}", headers=h).json()
        assert job["cancel_requested"] or job["status"] == "cancelled", job
    again = client.post(f"{url}/cancel", headers=h)
    assert again.status_code == 409
    refused = client.post(f"{url}/trials/{run['trials'][0]['id']}/apply", json={}, headers=h)
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]["message"]
    time.sleep(1.0)  # the worker's own ending of the trial jobs must not start new trials
    assert len(client.get(url, headers=h).json()["trials"]) == 2


def test_a_trial_whose_job_died_does_not_stall_the_run(
    client, make_project, upload_demo, worker
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from backend.core.db import get_sessionmaker, utcnow
    from backend.jobs.models import Job
    from backend.main import _reap_once

    pid, h, _ = _setup(client, make_project, upload_demo)
    started = client.post(
        f"/api/projects/{pid}/tuner-runs",
        json={**QUICK, "max_trials": 2, "parallel_trials": 1},
        headers=h,
    ).json()
    (first,) = started["trials"]
    with get_sessionmaker()() as db:
        # What the reaper does to the job of a worker that was killed (the trial's first job
        # sizes it on the board).
        db.execute(
            update(Job)
            .where(Job.id == first["measure_job_id"])
            .values(
                status="failed",
                finished_at=utcnow(),
                error="the worker running this job stopped (crashed or was killed)",
            )  # fmt: skip
        )
        db.commit()
    _reap_once()
    run = _wait_run(client, pid, started["id"], h)
    dead, second = run["trials"]
    assert dead["status"] == "failed" and "worker running this job stopped" in dead["error"]
    assert second["status"] == "succeeded", second
    assert run["status"] == "succeeded" and run["best_trial_id"] == second["id"]


def test_a_trial_behind_at_its_rung_stops_training_and_is_pruned(
    client, make_project, upload_demo, worker, wait_job
) -> None:  # type: ignore[no-untyped-def]
    from backend.core.db import get_sessionmaker
    from backend.tuner import search
    from backend.tuner.models import TunerRun, TunerTrial

    pid, h, _ = _setup(client, make_project, upload_demo)
    # Two epochs: one Hyperband bracket whose first rung is after epoch 1.
    first = client.post(
        f"/api/projects/{pid}/tuner-runs", json={**QUICK, "max_trials": 1, "max_epochs": 2},
        headers=h,
    ).json()  # fmt: skip
    assert _wait_run(client, pid, first["id"], h)["status"] == "succeeded"
    with get_sessionmaker()() as db:
        # The finished trial reached the rung with an accuracy no trial can beat; one more
        # trial is allowed.
        run = db.get(TunerRun, first["id"])
        trial = db.get(TunerTrial, first["trials"][0]["id"])
        assert run is not None and trial is not None
        trial.optuna_attrs = {"completed_rung_0": 2.0}
        run.settings = {**run.settings, "max_trials": 2}
        run.status, run.finished_at = "running", None
        db.commit()
    search.advance(run_id=first["id"])
    run = _wait_run(client, pid, first["id"], h)
    pruned = run["trials"][1]
    assert pruned["status"] == "pruned" and pruned["ram_bytes"] is None, pruned
    assert pruned["timings"]["total_s"] > pruned["timings"]["sizing_s"] > 0
    job = wait_job(client, pid, pruned["train_job_id"], h)
    assert job["status"] == "succeeded" and job["result"] == {"pruned_after_epoch": 1}
    with get_sessionmaker()() as db:
        row = db.get(TunerTrial, pruned["id"])
        assert row is not None and list(row.intermediate) == ["1"]
        assert row.optuna_attrs["completed_rung_0"] == row.intermediate["1"]
    assert run["status"] == "succeeded" and run["message"] == "2 trials: 1 succeeded, 1 pruned"


def test_an_impulse_the_run_does_not_search_is_no_trial_and_the_run_says_why(
    client, make_project, upload_demo, worker
) -> None:  # type: ignore[no-untyped-def]
    pid, h, impulse_id = _setup(client, make_project, upload_demo)
    started = client.post(
        f"/api/projects/{pid}/tuner-runs",
        json={**QUICK, "impulse_id": impulse_id, "dsp_blocks": ["spectral-analysis"],
              "max_trials": 1},
        headers=h,
    )  # fmt: skip
    assert started.status_code == 202, started.text
    run = _wait_run(client, pid, started.json()["id"], h)
    assert run["starting_point_note"] == (
        "Your impulse is not one of the trials: its block flatten is not among the blocks this "
        "run searches."
    )
    assert not any(t["starting_point"] for t in run["trials"])
