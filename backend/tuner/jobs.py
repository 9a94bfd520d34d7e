"""The tuner's jobs: a trial trains like a training run (same features cache, same pipeline,
same artifacts), asking the pruner after every epoch; its measurement builds the firmware a
deployment builds and measures it on the board (or the virtual board of its core)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backend.accounts.models import User
from backend.core.blobs import get_blob_store
from backend.core.db import get_sessionmaker
from backend.core.errors import ApiError
from backend.datasets.models import DatasetVersion
from backend.deployments.jobs import _example_window
from backend.impulses.features import load_features
from backend.impulses.schemas import ImpulseSpec
from backend.impulses.training import train_and_evaluate
from backend.jobs import service as jobs
from backend.jobs.celery_app import QUEUE_BUILD, QUEUE_TRAINING
from backend.jobs.lifecycle import JobCancelled, JobContext, JobFailed, job_task
from backend.jobs.models import Artifact, Job, JobStatus
from backend.tuner import results, search
from backend.tuner.models import TrialStatus, TunerRun, TunerTrial


@contextmanager
def _settles(ctx: JobContext, trial_id: int) -> Iterator[None]:
    """A task that stops early ends its trial first (failed, with the reason, or cancelled), so
    the run moves on at once; the job itself then ends as every job does."""
    try:
        yield
    except JobCancelled:
        with get_sessionmaker()() as db:
            job = db.get(Job, ctx.job_id)
        if job is not None and job.status == JobStatus.failed:
            # Failed behind the task's back (the reaper, after its worker stopped beating).
            search.settle(trial_id=trial_id, status=TrialStatus.failed, error=job.error)
        else:
            search.settle(trial_id=trial_id, status=TrialStatus.cancelled, error="cancelled")
        raise
    except Exception as exc:
        if isinstance(exc, ApiError):
            message = str(exc.detail["message"])  # type: ignore[index]
        elif isinstance(exc, JobFailed):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        search.settle(trial_id=trial_id, status=TrialStatus.failed, error=message)
        raise


def _load(trial_id: int) -> tuple[TunerTrial, TunerRun, DatasetVersion]:
    with get_sessionmaker()() as db:
        trial = db.get(TunerTrial, trial_id)
        run = db.get(TunerRun, trial.run_id) if trial is not None else None
        data = db.get(DatasetVersion, run.dataset_version_id) if run is not None else None
        if trial is None or run is None or data is None:
            raise JobFailed("the tuner trial, its run or its dataset version no longer exists")
        return trial, run, data


def _move(trial_id: int, from_statuses: frozenset[str], **values: Any) -> None:
    """Moves the trial on, or stops the task if the run's upkeep already ended it."""
    with get_sessionmaker()() as db:
        trial = db.get(TunerTrial, trial_id)
        if trial is None or not search.transition(db, trial, from_statuses, **values):
            raise JobFailed(
                f"the trial was ended meanwhile ({trial.status if trial else 'deleted'})"
            )
        db.commit()


def _measure(
    run: TunerRun,
    trial: TunerTrial,
    data: DatasetVersion,
    tflite: bytes,
    labels: list[str],
) -> dict[str, Any]:
    """The figures of `tflite` in the trial's impulse on the run's board, counted on the same
    window a deployment's figures are counted on (sizing counts the untrained network on it
    too, so its figures and the trained trial's agree but for the weights' few instructions)."""
    from workers.tuner.measure import measure_candidate

    window = _example_window(data, trial.spec)[0].reshape(-1)
    with tempfile.TemporaryDirectory(prefix="tinystudio-tuner-") as tmp:
        return measure_candidate(
            board_id=run.board_id, spec=trial.spec, axes=int(run.settings["facts"]["axes"]),
            labels=labels, tflite_int8=tflite, out_dir=Path(tmp), window=window,
        )  # fmt: skip


def _next_job(
    ctx: JobContext,
    run: TunerRun,
    trial_id: int,
    kind: str,
    from_status: TrialStatus,
    *,
    job_field: str,
    **values: Any,
) -> int:
    """Adds the trial's next job (`kind`), moves the trial on from `from_status` with `values`
    and the job's id in `job_field`, and enqueues the job once that is committed; its id."""
    with get_sessionmaker()() as db:
        row = db.get(TunerTrial, trial_id)
        assert row is not None
        owner = db.get(User, run.created_by_id) if run.created_by_id else None
        job = jobs.add(
            db=db, project_id=ctx.project_id, kind=kind, params={"trial_id": trial_id}, user=owner
        )
        values[job_field] = job.id
        if not search.transition(db, row, frozenset({from_status}), **values):
            raise JobFailed(f"the trial was ended meanwhile ({row.status})")
        db.commit()
        jobs.enqueue(db=db, job=job)
        return job.id


@job_task("tuner.size", queue=QUEUE_BUILD)
def size_task(ctx: JobContext) -> dict[str, Any]:
    """Measures the trial's untrained network on the board; a candidate over a budget ends here
    (over_budget, with its figures), one that can fit goes on to training."""
    from workers.tuner.sizing import untrained_int8

    trial_id = int(ctx.params["trial_id"])
    with _settles(ctx, trial_id):
        started = time.perf_counter()
        trial, run, data = _load(trial_id)
        if trial.status != TrialStatus.sizing:
            raise JobFailed(f"the trial is {trial.status}, not waiting to be sized")
        search.advance(run_id=run.id)  # this trial no longer waits: the next may be asked
        facts = run.settings["facts"]
        n_classes = int(facts["n_classes"])
        ctx.progress(0.1, f"sizing the untrained network on {run.board_id}")
        tflite = untrained_int8(
            trial.spec, axes=int(facts["axes"]), n_classes=n_classes, seed=int(run.settings["seed"])
        )
        figures = _measure(run, trial, data, tflite, [f"class{i}" for i in range(n_classes)])
        ram = int(figures["ram"]["impulse_bytes"])
        flash = int(figures["flash"]["impulse_bytes"])
        latency = float(figures["latency"]["ms"])
        timings = {"sizing_s": round(time.perf_counter() - started, 3)}
        sized = f"impulse RAM {ram:,} B, flash {flash:,} B, latency {latency:.3f} ms"
        if not results.fits(ram, flash, latency, run.budgets):
            timings["total_s"] = timings["sizing_s"]
            _move(
                trial_id, frozenset({TrialStatus.sizing}), status=TrialStatus.over_budget,
                figures=figures, ram_bytes=ram, flash_bytes=flash, latency_ms=latency,
                fits=False, timings=timings,
            )  # fmt: skip
            ctx.log(f"untrained: {sized}: over budget, not trained")
            search.advance(run_id=run.id)
            return {"fits": False, "ram_bytes": ram, "flash_bytes": flash, "latency_ms": latency}
        train_id = _next_job(
            ctx, run, trial_id, "tuner.trial", TrialStatus.sizing, status=TrialStatus.queued,
            job_field="train_job_id", timings=timings,
        )  # fmt: skip
        ctx.log(f"untrained: {sized}: can fit; training job {train_id}")
        return {"fits": True, "ram_bytes": ram, "flash_bytes": flash, "latency_ms": latency}


@job_task("tuner.trial", queue=QUEUE_TRAINING)
def trial_task(ctx: JobContext) -> dict[str, Any]:
    """Features (cached) → training with a pruning check every epoch → int8 → evaluation; then
    the measurement job."""
    from workers.learn import TrainingCancelled

    trial_id = int(ctx.params["trial_id"])
    with _settles(ctx, trial_id):
        started = time.perf_counter()
        _move(
            trial_id, frozenset({TrialStatus.queued, TrialStatus.training}),
            status=TrialStatus.training, intermediate={},
        )  # fmt: skip
        trial, run, data = _load(trial_id)
        search.advance(run_id=run.id)
        spec = ImpulseSpec.model_validate(trial.spec)
        with get_sessionmaker()() as db:
            features = load_features(ctx, db, spec, data, None, (0.0, 0.15))
        timings: dict[str, float] = {
            **(trial.timings or {}),
            "features_s": round(time.perf_counter() - started, 3),
        }
        pruned: list[int] = []

        def check_pruning(epoch: int, metrics: dict[str, float]) -> None:
            value = metrics.get("val_accuracy")
            if value is not None and search.report_epoch(
                trial_id=trial_id, epoch=epoch, value=value
            ):
                ctx.log(f"pruned after epoch {epoch}: validation accuracy {value:.4f}")
                pruned.append(epoch)

        try:
            outcome = train_and_evaluate(
                ctx, features=features, block_name=spec.learn[0].block,
                learn_params=spec.learn[0].params, on_epoch=check_pruning,
                should_stop=lambda: bool(pruned) or ctx.is_cancelled(),
            )  # fmt: skip
        except TrainingCancelled:
            if not pruned:
                raise
            timings["total_s"] = round(
                timings.get("sizing_s", 0.0) + time.perf_counter() - started, 3
            )
            _move(
                trial_id, frozenset({TrialStatus.training}), status=TrialStatus.pruned,
                timings=timings,
            )  # fmt: skip
            search.advance(run_id=run.id)
            return {"pruned_after_epoch": pruned[0]}
        evaluation = outcome.result.get("evaluation") or {}
        accuracy = {
            f"{model}_{split}": evaluation.get(model, {}).get(split, {}).get("accuracy")
            for model in ("float32", "int8")
            for split in ("validation", "test")
        }
        accuracy["int8_validation_loss"] = (
            evaluation.get("int8", {}).get("validation", {}).get("log_loss")
        )
        accuracy["validation_windows"] = outcome.result["windows"]["validation"]
        timings.update(outcome.timings)
        measure_id = _next_job(
            ctx, run, trial_id, "tuner.measure", TrialStatus.training,
            status=TrialStatus.measuring, job_field="measure_job_id", accuracy=accuracy,
            artifacts=outcome.artifacts, timings=timings,
        )  # fmt: skip
        ctx.log(f"trained; measurement job {measure_id} builds it for {run.board_id}")
        return outcome.result


def _int8_model(trial: TunerTrial) -> tuple[bytes, list[str]]:
    """The trial's int8 model and its labels (from the trial's metrics.json)."""
    store = get_blob_store()
    with get_sessionmaker()() as db:
        keys = {}
        for name in ("model-int8.tflite", "metrics.json"):
            artifact_id = (trial.artifacts or {}).get(name)
            artifact = db.get(Artifact, artifact_id) if artifact_id else None
            if artifact is None:
                raise JobFailed(f"the trial kept no {name}")
            keys[name] = artifact.blob_key
    metrics = json.loads(store.get(keys["metrics.json"]))
    return store.get(keys["model-int8.tflite"]), list(metrics["classes"])


@job_task("tuner.measure", queue=QUEUE_BUILD)
def measure_task(ctx: JobContext) -> dict[str, Any]:
    """Builds the trial's firmware for the run's board and measures RAM, flash and latency."""
    trial_id = int(ctx.params["trial_id"])
    with _settles(ctx, trial_id):
        trial, run, data = _load(trial_id)
        if trial.status != TrialStatus.measuring:
            raise JobFailed(f"the trial is {trial.status}, not waiting to be measured")
        search.advance(run_id=run.id)
        tflite, labels = _int8_model(trial)
        ctx.progress(0.1, f"building and measuring the firmware for {run.board_id}")
        figures = _measure(run, trial, data, tflite, labels)
        ram = int(figures["ram"]["impulse_bytes"])
        flash = int(figures["flash"]["impulse_bytes"])
        latency = float(figures["latency"]["ms"])
        fits = results.fits(ram, flash, latency, run.budgets)
        timings = {**(trial.timings or {}), **figures.pop("timings", {})}
        timings["total_s"] = round(sum(v for k, v in timings.items() if k != "total_s"), 3)
        _move(
            trial_id, frozenset({TrialStatus.measuring}), status=TrialStatus.succeeded,
            figures=figures, ram_bytes=ram, flash_bytes=flash, latency_ms=latency, fits=fits,
            timings=timings,
        )  # fmt: skip
        ctx.log(
            f"impulse RAM {ram:,} B, flash {flash:,} B, latency {latency:.3f} ms: "
            f"{'fits' if fits else 'over budget'}"
        )
        search.advance(run_id=run.id)
        return {"figures": figures, "fits": fits}
