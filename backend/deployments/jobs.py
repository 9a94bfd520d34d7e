"""The deployment build job: C library, Arduino library, or firmware built and profiled in QEMU.

A thin wrapper around workers/deploy (packaging), workers/compiler and workers/firmware."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.blobs import get_blob_store
from backend.core.blobs.cache import read_cached
from backend.core.db import get_sessionmaker
from backend.datasets.models import Category, DatasetVersion
from backend.deployments.models import Deployment
from backend.deployments.schemas import FIRST_DIFFERING, DeviceFigures, DeviceTestSummary
from backend.deployments.service import anomaly_run_id, keep_device_test
from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
from backend.jobs.celery_app import QUEUE_BUILD
from backend.jobs.lifecycle import JobContext, JobFailed, job_task
from backend.jobs.models import Artifact, Job


def _example_window(data: DatasetVersion, spec: dict[str, Any]) -> tuple[np.ndarray, str | None]:
    """The first window of the first testing sample (else training): baked into the example."""
    from workers.windowing import make_windows

    entries = sorted(data.entries, key=lambda e: e["category"] != Category.testing)
    for entry in entries:
        values = np.frombuffer(read_cached(entry["values_key"]), dtype="<f4").reshape(
            entry["length"], entry["axes"]
        )
        windows = make_windows(values, entry["interval_ms"], **spec["input"])
        if len(windows):
            return windows[0], entry["label"]
    raise JobFailed("the dataset version has no window to put in the example")


def _anomaly_state(db: Any, run_id: int | None) -> dict[str, Any] | None:
    """The K-means state (anomaly.json) of the deployment's anomaly run, if it has one."""
    if run_id is None:
        return None
    run = db.get(TrainingRun, run_id)
    artifact_id = (run.artifacts or {}).get("anomaly.json") if run is not None else None
    artifact = db.get(Artifact, artifact_id) if artifact_id else None
    if artifact is None:
        raise JobFailed(f"anomaly run {run_id} kept no anomaly model (anomaly.json)")
    state: dict[str, Any] = json.loads(get_blob_store().get(artifact.blob_key))
    return state


@job_task("deployment.build", queue=QUEUE_BUILD)
def build_deployment(ctx: JobContext) -> dict[str, Any]:
    """Builds the deployment's target and records its figures (RAM, flash, latency)."""
    from workers.deploy.library import build_arduino_library, build_c_library

    with get_sessionmaker()() as db:
        deployment = db.get(Deployment, ctx.params["deployment_id"])
        if deployment is None:
            raise JobFailed("the deployment no longer exists")
        run = db.get(TrainingRun, deployment.training_run_id)
        assert run is not None
        impulse = db.get(Impulse, run.impulse_id)
        version = db.get(ImpulseVersion, run.impulse_version_id)
        data = db.get(DatasetVersion, run.dataset_version_id)
        assert impulse is not None and version is not None and data is not None
        int8_id = run.artifacts.get("model-int8.tflite")
        artifact = db.get(Artifact, int8_id) if int8_id else None
        if artifact is None:
            raise JobFailed(f"training run {run.id} kept no int8 model")
        tflite = get_blob_store().get(artifact.blob_key)
        spec = version.spec
        classes = run.metrics.get("classes") or []
        first = data.entries[0]
        axis_names = [s["name"] for s in first["sensors"]]
        target, board_id, name = deployment.target, deployment.board_id, impulse.name
        window, window_label = _example_window(data, spec)
        anomaly_id = anomaly_run_id(deployment)
        anomaly = _anomaly_state(db, anomaly_id)
    ctx.log(f"building {target} for impulse {name!r} (run {run.id}, {len(classes)} labels)")
    if anomaly is not None:
        ctx.log(
            f"with the anomaly block of run {anomaly_id} ({len(anomaly['centers'])} clusters, "
            f"threshold {anomaly['threshold']:.4f})"
        )
    common = {
        "name": name,
        "impulse_input": spec["input"],
        "dsp_blocks": spec["dsp"],
        "axes": len(axis_names),
        "axis_names": axis_names,
        "labels": classes,
        "tflite_int8": tflite,
        "example_window": window,
        "example_label": window_label,
        "anomaly": anomaly,
    }
    report: dict[str, Any]
    with tempfile.TemporaryDirectory(prefix="tinystudio-deploy-") as tmp:
        out = Path(tmp)
        ctx.progress(0.1, "compiling the model to C")
        if target in ("c-library", "arduino-library"):
            builder = build_c_library if target == "c-library" else build_arduino_library
            zip_path = out / f"{target}.zip"
            with _refusals_fail_the_job():
                library = builder(**common, out_zip=zip_path)
                report = _jsonable(dataclasses.asdict(library))
                report.pop("zip_path", None)
                ctx.progress(0.6, "measuring the library on the virtual board")
                report["figures"] = _figures(ctx, _library_figures(target, out, common))
            ctx.progress(0.9, "packaging")
            report["artifact_id"] = ctx.put_artifact(
                f"{library.library_name}-{target}.zip", target, zip_path, "application/zip"
            )
        else:
            report = _firmware(ctx, out, board_id or "", common)
    report["target"] = target
    report["anomaly_run_id"] = anomaly_id
    with get_sessionmaker()() as db:
        deployment = db.get(Deployment, ctx.params["deployment_id"])
        if deployment is not None:
            deployment.report = report
            db.commit()
    return report


def _firmware(ctx: JobContext, out: Path, board_id: str, common: dict[str, Any]) -> dict[str, Any]:
    from workers.deploy.firmware import build_board_firmware, firmware_figures

    ctx.progress(0.2, f"building firmware for {board_id}")
    with _refusals_fail_the_job():
        build, report = build_board_firmware(
            board_id=board_id,
            impulse_input=common["impulse_input"],
            dsp_blocks=common["dsp_blocks"],
            axes=common["axes"],
            labels=common["labels"],
            tflite_int8=common["tflite_int8"],
            out_dir=out,
            model_name=common["name"],
            anomaly=common["anomaly"],
        )
    report = _jsonable(report)
    # The linker's view (with the whole reserved stack) would be a second RAM figure; the
    # figures keep its split (flash.parts, ram.static_parts).
    report.pop("firmware", None)
    ctx.progress(0.6, "running the firmware in QEMU to measure it")
    measured = firmware_figures(
        build,
        out,
        labels=common["labels"],
        lower_bound=report["model"].get("lower_bound"),
        window=common["example_window"].reshape(-1),
    )
    report["figures"] = _figures(ctx, measured)
    ctx.progress(0.9, "storing the image")
    report["artifacts"] = {
        "firmware.elf": ctx.put_artifact("firmware.elf", "firmware-elf", build.elf),
        "firmware.bin": ctx.put_artifact("firmware.bin", "firmware-bin", build.bin),
    }
    return report


# Refusals of the builders name the problem (too large, no toolchain, model and DSP disagree).
_REFUSALS = (
    "FirmwareBuildError", "FirmwareTooLargeError", "FirmwareUnavailableError", "LibraryBuildError",
)  # fmt: skip


@contextmanager
def _refusals_fail_the_job() -> Iterator[None]:
    """Turns a builder's refusal into a failed job with its message, without a traceback."""
    try:
        yield
    except Exception as exc:
        if type(exc).__name__ in _REFUSALS:
            raise JobFailed(str(exc)) from None
        raise


LIBRARY_KINDS = {"c-library": "C library", "arduino-library": "Arduino library"}


def _library_figures(target: str, out: Path, common: dict[str, Any]) -> dict[str, Any]:
    """The library's figures: its model and DSP built as firmware and measured in QEMU."""
    from workers.deploy.firmware import library_figures

    return library_figures(
        kind=LIBRARY_KINDS[target],
        out_dir=out / "measured",
        model_name=common["name"],
        labels=common["labels"],
        window=common["example_window"].reshape(-1),
        impulse_input=common["impulse_input"],
        dsp_blocks=common["dsp_blocks"],
        axes=common["axes"],
        tflite_int8=common["tflite_int8"],
        anomaly=common["anomaly"],
    )


def _figures(ctx: JobContext, measured: dict[str, Any]) -> dict[str, Any]:
    """The build's one figures object (RAM, flash, latency), checked and logged."""
    figures = DeviceFigures.model_validate(measured)
    ctx.log(figures.summary())
    if figures.ram.arena_note:
        ctx.log(figures.ram.arena_note)
    return figures.model_dump(mode="json")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


__all__ = ["build_deployment"]


@job_task("deployment.device_test", queue=QUEUE_BUILD)
def device_test(ctx: JobContext) -> dict[str, Any]:
    """Runs the test set through the deployed firmware on its virtual board with `classify`,
    and compares every window with the studio's own int8 result, label and scores (and, with an
    anomaly block, the device's anomaly score with the studio's numpy score). A summary is kept
    on the deployment's report as `device_test`."""
    from backend.impulses.schemas import ImpulseSpec
    from backend.impulses.service import features_of
    from workers.boards import get_board
    from workers.firmware.qemu import VirtualBoardSession
    from workers.learn.kmeans import anomaly_scores
    from workers.windowing import make_windows_with_starts

    store = get_blob_store()
    with get_sessionmaker()() as db:
        deployment = db.get(Deployment, ctx.params["deployment_id"])
        if deployment is None or deployment.target != "firmware" or not deployment.board_id:
            raise JobFailed("on-device testing needs a firmware deployment")
        run = db.get(TrainingRun, deployment.training_run_id)
        assert run is not None
        version = db.get(ImpulseVersion, run.impulse_version_id)
        data = db.get(DatasetVersion, run.dataset_version_id)
        train_job = db.get(Job, run.job_id) if run.job_id else None
        elf_id = (deployment.report.get("artifacts") or {}).get("firmware.elf")
        elf = db.get(Artifact, elf_id) if elf_id else None
        if version is None or data is None or train_job is None or elf is None:
            raise JobFailed("the deployment's firmware, run or dataset is gone")
        studio = {
            (w["sample_id"], round(w["window_start_ms"], 3)): w
            for w in (train_job.result or {}).get("test_windows", [])
        }
        classes = run.metrics.get("classes") or []
        spec, board = version.spec, get_board(deployment.board_id)
        entries = [e for e in data.entries if e["category"] == Category.testing]
        elf_key = elf.blob_key
        anomaly_id = anomaly_run_id(deployment)
        anomaly = _anomaly_state(db, anomaly_id)
    if board.kind != "virtual":
        raise JobFailed(f"{board.name} is a real board: test it from the browser over Web Serial")
    confusion = [[0] * len(classes) for _ in classes]
    rows: list[dict[str, Any]] = []
    disagreements: list[dict[str, Any]] = []
    inference_us: list[float] = []
    scored: list[dict[str, Any]] = []
    total = sum(1 for _ in entries)
    with store.local_copy(elf_key) as elf_path, VirtualBoardSession(board, elf_path) as session:
        output = (session.info().get("outputs") or [{}])[0]
        for done, entry in enumerate(entries, start=1):
            values = np.frombuffer(read_cached(entry["values_key"]), dtype="<f4").reshape(
                entry["length"], entry["axes"]
            )
            windows, starts = make_windows_with_starts(
                values, entry["interval_ms"], **spec["input"]
            )
            studio_anomaly: list[float | None] = [None] * len(windows)
            if anomaly is not None and len(windows):
                # The studio's own numpy DSP and K-means scores of the same windows.
                _, _, features = features_of(
                    values, entry["interval_ms"], ImpulseSpec.model_validate(spec)
                )
                studio_anomaly = anomaly_scores(anomaly, features).tolist()
            for k, (window, start) in enumerate(zip(windows, starts.tolist(), strict=True)):
                answer = session.classify_file(window.reshape(-1))
                device_label = answer.get("label")
                key = (entry["sample_id"], round(float(start), 3))
                expected = studio.get(key)
                if entry["label"] in classes and device_label in classes:
                    confusion[classes.index(entry["label"])][classes.index(device_label)] += 1
                if answer.get("inference_us") is not None:
                    inference_us.append(float(answer["inference_us"]))
                row = {
                    "sample_id": entry["sample_id"],
                    "window_start_ms": float(start),
                    "label": entry["label"],
                    "device": device_label,
                    "studio_int8": expected["int8"] if expected else None,
                }
                if anomaly is not None:
                    if answer.get("anomaly") is None:
                        raise JobFailed(
                            f"the firmware gave no anomaly score although the deployment "
                            f"includes anomaly run {anomaly_id}"
                        )
                    row["device_anomaly"] = float(answer["anomaly"])
                    row["studio_anomaly"] = studio_anomaly[k]
                rows.append(row)
                if expected is not None and expected.get("scores_int8") is not None:
                    scored.append(
                        {"sample_id": entry["sample_id"], "sample_name": entry.get("name"),
                         "window_index": k, "window_start_ms": float(start),
                         "studio": expected["scores_int8"], "device": answer.get("scores")}
                    )  # fmt: skip
                if expected is None or expected["int8"] != device_label:
                    disagreements.append(row)
            ctx.progress(done / max(total, 1), f"{done}/{total} test samples on {board.id}")
    scores = compare_scores(scored, output.get("scale"), output.get("zero_point"))
    correct = sum(1 for r in rows if r["device"] == r["label"])
    studio_correct = sum(1 for r in rows if r["studio_int8"] == r["label"])
    result = {
        "board": board.id,
        "windows": len(rows),
        "device_accuracy": correct / len(rows) if rows else None,
        "studio_int8_accuracy": studio_correct / len(rows) if rows else None,
        "agreement": (len(rows) - len(disagreements)) / len(rows) if rows else None,
        "classes": classes,
        "confusion_matrix": confusion,
        "disagreements": disagreements[:500],
        "mean_inference_us": sum(inference_us) / len(inference_us) if inference_us else None,
        "timing": "virtual (QEMU time, not a latency; the deployment's figures give the latency)",
        "anomaly": None,
        "scores": scores,
    }
    ctx.log(
        f"{len(rows)} windows: device accuracy {result['device_accuracy']}, "
        f"{len(disagreements)} disagreements with the studio's int8 model; scores differ on "
        f"{scores['differing']} windows (largest difference {scores['max_abs_difference']})"
    )
    if anomaly is not None:
        compared = _compare_anomaly(rows, anomaly_id, float(anomaly["threshold"]))
        result["anomaly"] = compared
        ctx.log(
            f"anomaly scores: max abs difference device - studio {compared['max_abs_difference']}"
        )
    _keep_on_deployment(ctx, result)
    return result


def compare_scores(
    scored: list[dict[str, Any]], scale: float | None, zero_point: int | None
) -> dict[str, Any]:
    """The device's scores against the studio's int8 scores, window by window: how many
    windows differ, the largest difference (in score units and in output steps) and the first
    few differing windows. Scores are compared as the output's int8 steps, so a studio score
    kept to fewer digits still matches the device's exact one."""
    # A float output (or an answer without quantization) is compared float for float.
    step = float(scale) if scale is not None and zero_point is not None and scale > 0 else None
    differing: list[dict[str, Any]] = []
    largest, largest_steps = 0.0, 0
    for window in scored:
        studio = np.asarray(window["studio"], dtype=np.float64)
        # A null score (the board's NaN) becomes NaN here, which differs from every score.
        device = np.asarray(window["device"] or [], dtype=np.float64)
        if studio.shape != device.shape:
            raise JobFailed(
                f"the device gave {device.size} scores for a window, the studio {studio.size}"
            )
        difference = np.abs(studio - device)
        steps = difference
        if step is not None:
            # numpy rounds halves to even; the browser's twin does the same.
            steps = np.abs(np.round(studio / step) - np.round(device / step))
        if np.any(steps != 0):
            finite = np.isfinite(steps)
            if finite.any():
                largest = max(largest, float(difference[finite].max()))
                largest_steps = max(largest_steps, int(steps[finite].max()))
            differing.append(window)
    return {
        "windows": len(scored),
        "differing": len(differing),
        "max_abs_difference": largest if scored else None,
        "max_step_difference": None if step is None or not scored else largest_steps,
        "output_scale": step,
        "output_zero_point": None if step is None else zero_point,
        "first_differing": differing[:FIRST_DIFFERING],
    }


def _keep_on_deployment(ctx: JobContext, result: dict[str, Any]) -> None:
    """Keeps the device test's figures on the deployment's report (the last test wins)."""
    summary = DeviceTestSummary(
        source="studio", job_id=ctx.job_id,
        **{k: result[k] for k in ("board", "windows", "agreement", "device_accuracy",
                                  "studio_int8_accuracy", "scores")},
    )  # fmt: skip
    with get_sessionmaker()() as db:
        keep_device_test(db=db, deployment_id=ctx.params["deployment_id"], summary=summary)


def _compare_anomaly(
    rows: list[dict[str, Any]], run_id: int | None, threshold: float
) -> dict[str, Any]:
    """The device's anomaly scores against the studio's, window by window."""
    device = np.asarray([r["device_anomaly"] for r in rows], dtype=np.float64)
    studio = np.asarray([r["studio_anomaly"] for r in rows], dtype=np.float64)
    difference = np.abs(device - studio)
    device_flags, studio_flags = device > threshold, studio > threshold
    differing = [r for r, a, b in zip(rows, device_flags, studio_flags, strict=True) if a != b]
    return {
        "run_id": run_id,
        "threshold": threshold,
        "windows": len(rows),
        "max_abs_difference": float(difference.max()) if len(rows) else None,
        "mean_abs_difference": float(difference.mean()) if len(rows) else None,
        "device_anomalous": int(device_flags.sum()),
        "studio_anomalous": int(studio_flags.sum()),
        "agreement": 1.0 - len(differing) / len(rows) if rows else None,
        "disagreements": differing[:500],
    }
