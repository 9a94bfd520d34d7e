"""Optimized training runs (pruning, quantization-aware training, distillation): the earlier runs
they start from or learn from, and what the optimized model saves on the device against its
baseline, measured by building both as firmware and running them on the virtual board."""

from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.blobs import get_blob_store
from backend.core.errors import ApiError
from backend.impulses.models import ImpulseVersion, TrainingRun
from backend.impulses.schemas import ImpulseSpec
from backend.jobs.models import Artifact, Job, JobStatus

# Optimized runs are compared on this board unless the request names another.
DEFAULT_BOARD = "virtual-cortex-m4"


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_training_settings", f"{field}: {message}", field=field)


@dataclass(frozen=True)
class Links:
    """The runs an optimized run refers to (ids), and the board it is measured on."""

    baseline_run_id: int | None
    teacher_run_id: int | None
    board_id: str

    def as_metrics(self) -> dict[str, Any]:
        return {
            "baseline_run_id": self.baseline_run_id,
            "teacher_run_id": self.teacher_run_id,
            "board_id": self.board_id,
        }


def settings(params: dict[str, Any]) -> dict[str, Any] | None:
    """The validated "optimization" setting when it asks for anything, else None."""
    from workers.learn import optimize

    return params.get("optimization") if optimize.requested(params) else None


def links(
    *,
    db: Session,
    impulse_id: int,
    learn_index: int,
    params: dict[str, Any],
    features: dict[str, Any],
    classes: list[str],
    baseline_run_id: int | None,
    teacher_run_id: int | None,
    board_id: str | None,
) -> Links | None:
    """The baseline and teacher runs of an optimized run, checked; None for a plain run.

    The baseline defaults to the newest succeeded run of this impulse's learning block without
    optimization: pruning and quantization-aware training fine-tune its model, and every run
    is reported against it. Both must score the same classes from the same `features` (the
    impulse's "input" and "dsp" settings, which make the windows the models read)."""
    from workers.boards import BoardNotFoundError, get_board
    from workers.learn import optimize

    wanted = settings(params)
    if wanted is None:
        for name, value in (
            ("baseline_run_id", baseline_run_id),
            ("teacher_run_id", teacher_run_id),
        ):
            if value is not None:
                raise invalid(name, "only an optimized run (pruning, QAT or distillation) takes it")
        return None
    board = board_id or DEFAULT_BOARD
    try:
        get_board(board)
    except BoardNotFoundError:
        raise invalid("board_id", f"there is no board {board!r} in the catalog") from None
    if baseline_run_id is None:
        baseline = _newest_plain_run(db, impulse_id, learn_index, features)
    else:
        baseline = _usable_run(db, impulse_id, baseline_run_id, "baseline_run_id", features)
    if baseline is None and optimize.needs_baseline_model(params):
        raise invalid(
            "baseline_run_id",
            "pruning and quantization-aware training start from a trained model: train this "
            "impulse without optimization first (it becomes the baseline)",
        )
    if baseline is not None:
        _same_outputs(baseline, learn_index, classes, "baseline_run_id")
    teacher = None
    if teacher_run_id is not None:
        if not wanted["distillation"]:
            raise invalid("teacher_run_id", "only distillation takes a teacher")
        teacher = _usable_run(db, impulse_id, teacher_run_id, "teacher_run_id", features)
        _same_outputs(teacher, learn_index, classes, "teacher_run_id")
    return Links(
        baseline_run_id=None if baseline is None else baseline.id,
        teacher_run_id=None if teacher is None else teacher.id,
        board_id=board,
    )


def _succeeded(db: Session, run: TrainingRun) -> bool:
    job = db.get(Job, run.job_id) if run.job_id else None
    return job is not None and job.status == JobStatus.succeeded


def features_key(spec: dict[str, Any]) -> dict[str, Any] | None:
    """What decides the windows a model reads: the input and DSP settings, defaults filled in
    (so a version saved before a setting existed still compares equal); None if unreadable."""
    from workers import dsp

    try:
        parsed = ImpulseSpec.model_validate(spec)
        return {
            "input": parsed.input.model_dump(),
            "dsp": [
                {"block": b.block, "params": dsp.get_block(b.block).validate_params(b.params)}
                for b in parsed.dsp
            ],
        }
    except (ValueError, dsp.DspParamError):
        return None


def _features_of(db: Session, run: TrainingRun) -> dict[str, Any] | None:
    version = db.get(ImpulseVersion, run.impulse_version_id)
    return None if version is None else features_key(version.spec)


def _newest_plain_run(
    db: Session, impulse_id: int, learn_index: int, features: dict[str, Any]
) -> TrainingRun | None:
    from workers.learn import optimize

    runs = db.scalars(
        select(TrainingRun)
        .where(TrainingRun.impulse_id == impulse_id)
        .order_by(TrainingRun.id.desc())
    )
    for run in runs:
        metrics = run.metrics or {}
        if (
            metrics.get("learn_index", 0) == learn_index
            and "model.keras" in (run.artifacts or {})
            and not optimize.requested(metrics.get("params") or {})
            and _succeeded(db, run)
            and _features_of(db, run) == features
        ):
            return run
    return None


def _usable_run(
    db: Session, impulse_id: int, run_id: int, field: str, features: dict[str, Any]
) -> TrainingRun:
    run = db.get(TrainingRun, run_id)
    if run is None or run.impulse_id != impulse_id:
        raise invalid(field, f"training run {run_id} is not a run of this impulse")
    if not _succeeded(db, run) or "model.keras" not in (run.artifacts or {}):
        raise invalid(field, f"training run {run_id} has not produced a trained model")
    if _features_of(db, run) != features:
        raise invalid(
            field,
            f"training run {run_id} read other features (its window or signal processing "
            "differs from the impulse's now)",
        )
    return run


def _same_outputs(run: TrainingRun, learn_index: int, classes: list[str], field: str) -> None:
    metrics = run.metrics or {}
    if metrics.get("learn_index", 0) != learn_index:
        raise invalid(field, f"training run {run.id} trained another learning block")
    theirs = list(metrics.get("classes") or [])
    if theirs != list(classes):
        raise invalid(
            field,
            f"training run {run.id} scores {theirs}, this run {list(classes)}: its outputs "
            "differ (relabelled data or another dataset)",
        )


def artifact_bytes(db: Session, run_id: int | None, name: str) -> bytes | None:
    """The bytes of artifact `name` of training run `run_id` (None when either is gone)."""
    run = db.get(TrainingRun, run_id) if run_id is not None else None
    artifact_id = (run.artifacts or {}).get(name) if run is not None else None
    artifact = db.get(Artifact, artifact_id) if artifact_id else None
    return None if artifact is None else get_blob_store().get(artifact.blob_key)


def device_comparison(
    *,
    board_id: str,
    spec: dict[str, Any],
    axes: int,
    labels: list[str],
    models: dict[str, bytes],
) -> dict[str, Any]:
    """For each int8 model ("baseline", "optimized"): its MACs and compiled sizes, its zipped
    file size, and the impulse's RAM, flash and instructions per window on `board_id`, measured
    as the deployment's firmware (built and run in QEMU)."""
    from workers.compiler import compile_model
    from workers.tuner.measure import measure_candidate

    out: dict[str, Any] = {"board_id": board_id}
    for name, tflite in models.items():
        with tempfile.TemporaryDirectory(prefix="tinystudio-optimized-") as tmp:
            compiled = compile_model(tflite, Path(tmp) / "model")
            figures = measure_candidate(
                board_id=board_id, spec=spec, axes=axes, labels=labels, tflite_int8=tflite,
                out_dir=Path(tmp) / "firmware",
            )  # fmt: skip
        out[name] = {
            "macs": compiled.macs,
            "arena_bytes": compiled.arena_bytes,
            "weights_bytes": compiled.weights_bytes,
            "tflite_bytes": len(tflite),
            "zipped_bytes": len(zlib.compress(tflite, 9)),
            "ram_bytes": int(figures["ram"]["impulse_bytes"]),
            "flash_bytes": int(figures["flash"]["impulse_bytes"]),
            "latency_ms": float(figures["latency"]["ms"]),
            "instructions": int(figures["latency"]["instructions"]),
            "model_instructions": int(figures["latency"]["stage_instructions"].get("inference", 0)),
        }
    return out
