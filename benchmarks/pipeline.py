"""Training pipeline benchmark on the BasicMotions demo: feature generation speed, the training
job's wall time against the same Keras run as a plain script, and float vs int8 test accuracy.

Usage: python -m benchmarks.pipeline [--repeats N] [--json PATH] [--kws DIR]
With --kws DIR (made by `make-kws-dataset DIR 100`), also MFCC + classifier-conv2d on the
synthetic keyword set. Prints a table and writes JSON (default benchmarks/results/pipeline.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from backend.datasets.formats.model import UploadLimits
from backend.datasets.formats.upload import parse_upload
from workers.dsp import get_block
from workers.learn import evaluate, get_learn_block, quantize_int8, tflite_ops, train
from workers.learn.training import import_tensorflow
from workers.windowing import make_windows

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "backend" / "datasets" / "demo_data" / "basic-motions"
# The impulse benchmarked: the demo is sampled at 10 Hz; 2 s windows every 200 ms.
IMPULSE_INPUT = {"window_ms": 2000.0, "stride_ms": 200.0, "frequency_hz": 10.0, "zero_pad": True}
DSP_BLOCK = "spectral-analysis"
DSP_PARAMS: dict[str, Any] = {}  # the block's defaults
LEARN_BLOCK = "classifier-conv1d"
LEARN_PARAMS: dict[str, Any] = {}  # the block's defaults
ANOMALY_PARAMS: dict[str, Any] = {}  # the block's defaults
# The keyword-spotting impulse: one 1 s window per 1 s clip at 16 kHz, MFCC, 2-D CNN.
KWS_INPUT = {"window_ms": 1000.0, "stride_ms": 500.0, "frequency_hz": 16000.0, "zero_pad": True}
KWS_DSP_BLOCK = "mfcc"
KWS_LEARN_BLOCK = "classifier-conv2d"


def load_samples(part: str, root: Path = DATA, pattern: str = "*.csv") -> list[Any]:
    """(label, values, interval_ms) of every file of `root`/`part` (training | testing)."""
    samples = []
    for path in sorted((root / part).glob(pattern)):
        parsed = parse_upload(
            path.name, None, path.read_bytes(), hmac_key=None, limits=UploadLimits()
        )
        samples.append((path.name.split(".")[0], parsed.values, parsed.interval_ms))
    return samples


def features(
    samples: list[tuple[str, np.ndarray, float]],
    labels: list[str],
    impulse_input: dict[str, Any] = IMPULSE_INPUT,
    dsp_block: str = DSP_BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows x DSP (default parameters) of every sample: (features, label indices)."""
    block = get_block(dsp_block)
    xs, ys = [], []
    for label, values, interval_ms in samples:
        windows = make_windows(values, interval_ms, **impulse_input)
        xs.append(block.process(windows, impulse_input["frequency_hz"], DSP_PARAMS))
        ys.append(np.full(windows.shape[0], labels.index(label)))
    return np.concatenate(xs), np.concatenate(ys)


def split_like_train(
    x: np.ndarray, y: np.ndarray, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The stratified validation split train() makes, so the plain run sees the same data."""
    from workers.learn.training import _split

    return _split(x, y, params["validation_split"], params["seed"], "classification")


def plain_keras_run(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, deterministic: bool
) -> tuple[float, float]:
    """(wall, CPU) seconds for the same network trained by a plain script: build, compile, fit."""
    tf = import_tensorflow()
    import keras

    block = get_learn_block(LEARN_BLOCK)
    params = block.validate_params(LEARN_PARAMS, x.shape[1:], n_classes)
    x_train, y_train, x_val, y_val = split_like_train(x, y, params)
    keras.backend.clear_session()
    keras.utils.set_random_seed(params["seed"])
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    started, cpu_started = time.perf_counter(), time.process_time()
    model = block.build_model(params, x.shape[1:], n_classes)  # type: ignore[attr-defined]
    model.compile(
        optimizer=keras.optimizers.Adam(params["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        x_train,
        y_train,
        batch_size=params["batch_size"],
        epochs=params["epochs"],
        validation_data=(x_val, y_val),
        shuffle=True,
        verbose=0,
    )
    return time.perf_counter() - started, time.process_time() - cpu_started


def warm_up(x: np.ndarray, y: np.ndarray, n_classes: int) -> None:
    """One short fit so that TensorFlow's one-off start-up costs land in no measurement."""
    tf = import_tensorflow()

    block = get_learn_block(LEARN_BLOCK)
    params = block.validate_params({"epochs": 1}, x.shape[1:], n_classes)
    model = block.build_model(params, x.shape[1:], n_classes)  # type: ignore[attr-defined]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    tf.lite.TFLiteConverter  # noqa: B018 - touch the lazily loaded converter module


def keyword_spotting(root: Path) -> dict[str, Any]:
    """MFCC + 2-D CNN (default parameters) on a synthetic keyword set: float and int8 accuracy."""
    training = load_samples("training", root, "*.wav")
    testing = load_samples("testing", root, "*.wav")
    labels = sorted({label for label, _, _ in training})
    x_train, y_train = features(training, labels, KWS_INPUT, KWS_DSP_BLOCK)
    x_test, y_test = features(testing, labels, KWS_INPUT, KWS_DSP_BLOCK)
    started = time.perf_counter()
    result = train(KWS_LEARN_BLOCK, {}, x_train, y_train, None, None, n_classes=len(labels))
    seconds = time.perf_counter() - started
    assert result.keras_model and result.float_tflite
    int8 = quantize_int8(result.keras_model, x_train)
    as_float = evaluate(result.float_tflite, x_test, y_test, kind="classification", labels=labels)
    as_int8 = evaluate(int8, x_test, y_test, kind="classification", labels=labels)
    return {
        "impulse": {"input": KWS_INPUT, "dsp": KWS_DSP_BLOCK, "learn": KWS_LEARN_BLOCK},
        "feature_shape": list(x_train.shape[1:]),
        "windows": {"training": int(x_train.shape[0]), "testing": int(x_test.shape[0])},
        "train_job_s": seconds,
        "test_accuracy_float": as_float["accuracy"],
        "test_accuracy_int8": as_int8["accuracy"],
        "int8_tflite_bytes": len(int8),
        "int8_ops": tflite_ops(int8),
        "labels": labels,
        "int8_confusion_matrix": as_int8["confusion_matrix"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=4, help="timed runs of each kind")
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "pipeline.json"))
    parser.add_argument("--kws", type=Path, help="keyword set made by make-kws-dataset DIR 100")
    parser.add_argument("--plain-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    training, testing = load_samples("training"), load_samples("testing")
    labels = sorted({label for label, _, _ in training})
    x_train, y_train = features(training, labels)
    n_classes = len(labels)

    if args.plain_only:
        # Child process: plain Keras without op determinism (it cannot be switched off again
        # in a process that has switched it on).
        warm_up(x_train, y_train, n_classes)
        times = [
            plain_keras_run(x_train, y_train, n_classes, deterministic=False)[0]
            for _ in range(args.repeats)
        ]
        print(json.dumps(times))
        return

    # Feature generation: windowing + DSP over the whole dataset, best of 5.
    feature_times = []
    for _ in range(5):
        started = time.perf_counter()
        x_all, _ = features(training + testing, labels)
        feature_times.append(time.perf_counter() - started)
    windows_per_s = x_all.shape[0] / min(feature_times)
    x_test, y_test = features(testing, labels)

    # Anomaly detection trained on "standing" only; the other classes must score high.
    normal = labels.index("standing")
    anomaly = train(
        "anomaly-kmeans",
        ANOMALY_PARAMS,
        x_train[y_train == normal],
        None,
        None,
        None,
        n_classes=0,
    )
    assert anomaly.anomaly_state is not None
    anomaly_report = evaluate(
        anomaly.anomaly_state, x_test, (y_test != normal).astype(int), kind="anomaly"
    )

    plain_free = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.pipeline",
                "--plain-only",
                "--repeats",
                str(args.repeats),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )

    warm_up(x_train, y_train, n_classes)
    plain_times, job_times, fit_times = [], [], []
    plain_cpu, job_cpu = [], []
    result = None
    for repeat in range(args.repeats):
        # Interleaved in ABBA order, so that load from other processes on the machine and any
        # first/second-in-a-pair effect hit both alike.
        for kind in ("plain", "job") if repeat % 2 == 0 else ("job", "plain"):
            if kind == "plain":
                wall, cpu = plain_keras_run(x_train, y_train, n_classes, deterministic=True)
                plain_times.append(wall)
                plain_cpu.append(cpu)
                continue
            started, cpu_started = time.perf_counter(), time.process_time()
            result = train(
                LEARN_BLOCK, LEARN_PARAMS, x_train, y_train, None, None, n_classes=n_classes
            )
            job_times.append(time.perf_counter() - started)
            job_cpu.append(time.process_time() - cpu_started)
            fit_times.append(result.fit_seconds)
    assert result is not None and result.keras_model and result.float_tflite

    started = time.perf_counter()
    int8 = quantize_int8(result.keras_model, x_train)
    quantize_s = time.perf_counter() - started
    as_float = evaluate(result.float_tflite, x_test, y_test, kind="classification", labels=labels)
    as_int8 = evaluate(int8, x_test, y_test, kind="classification", labels=labels)

    job = statistics.median(job_times)
    plain = statistics.median(plain_times)
    out = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "impulse": {
            "input": IMPULSE_INPUT,
            "dsp": {"block": DSP_BLOCK, "params": get_block(DSP_BLOCK).validate_params(DSP_PARAMS)},
            "learn": {"block": LEARN_BLOCK, "params": result.params},
        },
        "windows": {
            "training": int(x_train.shape[0]),
            "testing": int(x_test.shape[0]),
            "features_per_window": int(x_train.shape[1]),
        },
        "feature_generation_windows_per_s": windows_per_s,
        "train_job_s": job_times,
        "train_job_fit_only_s": fit_times,
        "plain_keras_deterministic_s": plain_times,
        "train_job_cpu_s": job_cpu,
        "plain_keras_deterministic_cpu_s": plain_cpu,
        "ratio_job_vs_plain_deterministic_cpu": statistics.median(job_cpu)
        / statistics.median(plain_cpu),
        "plain_keras_default_s": plain_free,
        "ratio_job_vs_plain_deterministic": job / plain,
        "ratio_job_vs_plain_default": job / statistics.median(plain_free),
        "quantize_s": quantize_s,
        "float_tflite_bytes": len(result.float_tflite),
        "int8_tflite_bytes": len(int8),
        "int8_ops": tflite_ops(int8),
        "test_accuracy_float": as_float["accuracy"],
        "test_accuracy_int8": as_int8["accuracy"],
        "int8_confusion_matrix": as_int8["confusion_matrix"],
        "labels": labels,
        "anomaly_standing_only": {
            "params": anomaly.params,
            "roc_auc": anomaly_report["roc_auc"],
            "accuracy_at_threshold": anomaly_report["accuracy"],
        },
    }
    rows = [
        ("feature generation (windowing + DSP)", f"{windows_per_s:,.0f} windows/s"),
        ("train() job, median", f"{job:.2f} s (fit alone {statistics.median(fit_times):.2f} s)"),
        ("plain Keras script, same run (deterministic)", f"{plain:.2f} s"),
        ("plain Keras script, TF defaults", f"{statistics.median(plain_free):.2f} s"),
        ("ratio job / plain (deterministic)", f"{out['ratio_job_vs_plain_deterministic']:.3f}"),
        (
            "ratio job / plain (deterministic), CPU time",
            f"{out['ratio_job_vs_plain_deterministic_cpu']:.3f}",
        ),
        ("ratio job / plain (TF defaults)", f"{out['ratio_job_vs_plain_default']:.3f}"),
        ("int8 quantization", f"{quantize_s:.2f} s"),
        (
            "test accuracy float / int8",
            f"{as_float['accuracy']:.4f} / {as_int8['accuracy']:.4f} ({x_test.shape[0]} windows)",
        ),
        ("model size float / int8", f"{len(result.float_tflite)} / {len(int8)} bytes"),
        ("int8 ops", ", ".join(out["int8_ops"])),
        ("anomaly (standing only) ROC AUC", f"{anomaly_report['roc_auc']:.4f}"),
    ]
    if args.kws is not None:
        kws = keyword_spotting(args.kws)
        out["keyword_spotting"] = kws
        rows.append(
            (
                "keywords: MFCC + 2D-CNN float / int8",
                f"{kws['test_accuracy_float']:.4f} / {kws['test_accuracy_int8']:.4f} "
                f"({kws['windows']['testing']} windows, {kws['int8_tflite_bytes']} bytes)",
            )
        )
    width = max(len(name) for name, _ in rows)
    print(f"BasicMotions: {DSP_BLOCK} + {LEARN_BLOCK}, load average {os.getloadavg()[0]:.1f}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
