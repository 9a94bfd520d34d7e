"""Fixtures of the deployment tests: real signals, a tiny trained impulse, C build helpers."""

from __future__ import annotations

import subprocess
import wave
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.compiler.litert import quantize_input, reference_interpreter
from workers.deploy.glue import numpy_features
from workers.dsp import get_block
from workers.dsp.flatten import enabled_statistics
from workers.windowing import make_windows

DATA_DIR = Path(__file__).resolve().parent / "data"
CORTEX_M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


def run(cmd: Sequence[str | Path], cwd: Path | None = None, timeout: float = 300) -> str:
    """Runs a command, failing the test with its output when it fails; returns stdout."""
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def unpack(zip_path: Path, dest: Path) -> Path:
    """Unzips `zip_path` into `dest` and returns its single top-level folder."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
        tops = {name.split("/", 1)[0] for name in zf.namelist()}
    assert len(tops) == 1, tops
    return dest / tops.pop()


def basic_motions_windows(window_samples: int = 20, stride: int = 10) -> np.ndarray:
    """Windows over four real BasicMotions recordings (10 Hz, accelerometer + gyroscope)."""
    windows = []
    for path in sorted(DATA_DIR.glob("*.csv")):
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)[:, 1:]
        for start in range(0, len(values) - window_samples + 1, stride):
            windows.append(values[start : start + window_samples])
    return np.asarray(windows, dtype=np.float32)


def wav_windows() -> np.ndarray:
    """One second of real 16 kHz audio, each of its two channels as a 1-axis window."""
    with wave.open(str(DATA_DIR / "mlperf-tiny-1s.wav"), "rb") as clip:
        pcm = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
        channels = clip.getnchannels()
    per_channel = pcm.reshape(-1, channels).T.astype(np.float32)
    return per_channel[:, :, None]


@dataclass
class TrainedImpulse:
    """A tiny impulse trained in the test: windows, features, int8 model, anomaly state."""

    impulse_input: dict[str, Any]
    dsp_blocks: list[dict[str, Any]]
    axes: int
    axis_names: list[str]
    labels: list[str]
    tflite: bytes
    windows: np.ndarray  # (n, window_samples, axes) float32
    y: np.ndarray  # label index per window
    features: np.ndarray  # the studio's (numpy) features, (n, features)
    anomaly: dict[str, Any]

    def build_args(self, **extra: Any) -> dict[str, Any]:
        """What every builder (C/Arduino library, firmware) takes for this impulse, plus `extra`."""
        return {
            "impulse_input": self.impulse_input,
            "dsp_blocks": self.dsp_blocks,
            "axes": self.axes,
            "labels": self.labels,
            "tflite_int8": self.tflite,
            **extra,
        }


def synthetic_recordings(seed: int = 7) -> list[tuple[int, np.ndarray]]:
    """Recordings at 50 Hz of a 3-axis accelerometer: idle, shaking, waving (label, values)."""
    rng = np.random.default_rng(seed)
    t = np.arange(400) / 50.0
    out = []
    for take in range(3):
        idle = rng.normal(0.0, 0.05, (400, 3)) + [0.0, 0.0, 9.81]
        shake = rng.normal(0.0, 1.5, (400, 3)) + [0.0, 0.0, 9.81]
        wave_hz = 1.5 + 0.5 * take
        wave = np.stack(
            [2 * np.sin(2 * np.pi * wave_hz * t), np.cos(2 * np.pi * wave_hz * t), 9.81 + 0 * t],
            axis=1,
        ) + rng.normal(0.0, 0.2, (400, 3))
        out += [(0, idle), (1, shake), (2, wave)]
    return [(label, values.astype(np.float32)) for label, values in out]


@pytest.fixture(scope="session")
def trained_impulse() -> TrainedImpulse:
    """Spectral analysis + flatten on 3 axes -> a small dense Keras model -> int8 (LiteRT)."""
    from workers.learn import quantize_int8
    from workers.learn.kmeans import fit_kmeans
    from workers.learn.training import import_tensorflow

    impulse_input = {"window_ms": 1000, "stride_ms": 250, "frequency_hz": 50, "zero_pad": True}
    dsp_blocks = [
        {"block": "spectral-analysis", "params": {"filter-type": "low", "filter-cutoff": 8.0}},
        {"block": "flatten", "params": {"kurtosis": False}},
    ]
    windows, y = [], []
    for label, values in synthetic_recordings():
        w = make_windows(values, 20.0, **impulse_input)
        windows.append(w)
        y += [label] * len(w)
    all_windows = np.concatenate(windows)
    labels = np.asarray(y)
    features = numpy_features(all_windows, impulse_input=impulse_input, dsp_blocks=dsp_blocks)

    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((features.shape[1],)),
            tf.keras.layers.Dense(16, activation="relu"),
            tf.keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(features, labels, epochs=40, batch_size=32, verbose=0)
    tflite = quantize_int8(model, features)
    anomaly = fit_kmeans(
        features,
        {
            "clusters": 4,
            "standardize": True,
            "seed": 0,
            "max_iterations": 100,
            "radius_percentile": 95.0,
            "threshold_percentile": 99.0,
        },
    )
    return TrainedImpulse(
        impulse_input=impulse_input,
        dsp_blocks=dsp_blocks,
        axes=3,
        axis_names=["accX", "accY", "accZ"],
        labels=["idle", "shake", "wave"],
        tflite=tflite,
        windows=all_windows,
        y=labels,
        features=features,
        anomaly=anomaly,
    )


def studio_int8_scores(tflite: bytes, features: np.ndarray) -> np.ndarray:
    """The studio's int8 pipeline after the DSP (workers.learn.predict: quantize, LiteRT with
    the reference kernels, dequantize). Returns (n, outputs) float32."""
    from workers.learn import predict

    return predict(tflite, features)


def input_quantization(tflite: bytes) -> tuple[float, int]:
    """Scale and zero point of the model's input 0."""
    detail = reference_interpreter(tflite).get_input_details()[0]
    scale, zero_point = detail["quantization"]
    return float(scale), int(zero_point)


def quantize_like_studio(tflite: bytes, features: np.ndarray) -> np.ndarray:
    """The studio's quantization of the model's input (workers.compiler.litert)."""
    detail = reference_interpreter(tflite).get_input_details()[0]
    return quantize_input(features.reshape(len(features), -1), detail)


def quantize_like_device(tflite: bytes, features: np.ndarray) -> np.ndarray:
    """float32 x / float32 scale, halves away from zero, saturated: run_classifier's way."""
    scale, zero_point = input_quantization(tflite)
    ratio = features.astype(np.float32) / np.float32(scale)
    rounded = np.sign(ratio) * np.floor(np.abs(ratio) + np.float32(0.5))
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def litert_reference(tflite: bytes, q: np.ndarray) -> np.ndarray:
    """Dequantized output 0 of LiteRT's reference kernels for each int8 input row."""
    interpreter = reference_interpreter(tflite)
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    scale, zero_point = target["quantization"]
    out = []
    for row in q:
        interpreter.set_tensor(source["index"], row.reshape(source["shape"]).astype(np.int8))
        interpreter.invoke()
        raw = interpreter.get_tensor(target["index"]).reshape(-1)
        out.append((raw.astype(np.float32) - zero_point) * np.float32(scale))
    return np.asarray(out, dtype=np.float32)


def feature_floors(
    dsp_blocks: list[dict[str, Any]], frequency_hz: float, windows: np.ndarray
) -> np.ndarray:
    """The per-feature 'near zero' scale of the module docstring, blocks concatenated."""
    n, samples, axes = windows.shape
    parts = []
    for spec in dsp_blocks:
        block = get_block(spec["block"])
        params = block.validate_params(spec["params"])
        out = block.process(windows, frequency_hz, params).reshape(n, axes, -1)
        if spec["block"] == "raw":
            part = np.ones((n, samples * axes))
        elif spec["block"] == "flatten":
            stats = enabled_statistics(params)
            scale = np.abs(windows * np.float32(params["scale-axes"])).max(axis=1)
            moments = np.array([s in ("skewness", "kurtosis") for s in stats])
            part = np.where(moments[None, None, :], 1.0, scale[:, :, None]).reshape(n, -1)
        elif spec["block"] == "spectral-analysis":
            part3 = np.ones_like(out, dtype=np.float64)
            part3[:, :, 0] = np.maximum(np.abs(out[:, :, 0]), 1e-12)
            if not params["do-log"]:
                part3[:, :, 3:] = out[:, :, 3:].max(axis=-1, keepdims=True)
            part = part3.reshape(n, -1)
        else:
            part = np.ones((n, out[0].size))
        parts.append(part)
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class DeployTools:
    """The helpers above, handed to tests as one fixture (test modules cannot import conftest)."""

    run: Any = staticmethod(run)
    unpack: Any = staticmethod(unpack)
    basic_motions_windows: Any = staticmethod(basic_motions_windows)
    wav_windows: Any = staticmethod(wav_windows)
    studio_int8_scores: Any = staticmethod(studio_int8_scores)
    quantize_like_studio: Any = staticmethod(quantize_like_studio)
    quantize_like_device: Any = staticmethod(quantize_like_device)
    litert_reference: Any = staticmethod(litert_reference)
    input_quantization: Any = staticmethod(input_quantization)
    feature_floors: Any = staticmethod(feature_floors)
    cortex_m4f: tuple[str, ...] = tuple(CORTEX_M4F)


@pytest.fixture(scope="session")
def tools() -> DeployTools:
    """Shared helpers: running commands, unzipping, real signals, the studio's int8 reference."""
    return DeployTools()


HOST_HARNESS = r"""
/* Runs every window of a file through tinystudio_classify(); writes, per window, the features,
 * the scores, the label index and the anomaly score as float32, then the model's raw output. */
#include <stdio.h>

#include "tinystudio.h"

int main(int argc, char **argv)
{
    static float window[TS_SIGNAL_VALUES];
    if (argc != 3) return 2;
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) return 2;
    ts_result_t result;
    if (tinystudio_classify(window, TS_SIGNAL_VALUES - 1, &result) != TS_ERR_SIGNAL_LENGTH)
        return 4;
    while (fread(window, sizeof(float), TS_SIGNAL_VALUES, in) == TS_SIGNAL_VALUES) {
        const ts_status_t status = tinystudio_classify(window, TS_SIGNAL_VALUES, &result);
        if (status != TS_OK) { fprintf(stderr, "%s\n", ts_status_message(status)); return 3; }
        const float tail[2] = {(float)result.label_index, result.anomaly};
        fwrite(ts_impulse_dsp_features(), sizeof(float), TS_FEATURE_COUNT, out);
        fwrite(result.scores, sizeof(float), TS_SCORE_COUNT, out);
        fwrite(tail, sizeof(float), 2, out);
        fwrite(ts_model_output(0), 1, TS_MODEL_OUTPUT0_BYTES, out);
    }
    fclose(in);
    fclose(out);
    return 0;
}
"""


@dataclass
class HostClassifier:
    """The C library of the trained impulse, unzipped and built for the host with a harness."""

    report: Any
    root: Path  # the unzipped library folder
    executable: Path
    n_features: int
    n_labels: int

    def classify(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """features, scores, label, anomaly and int8 model output of each window, computed by
        the C library."""
        work = self.executable.parent
        np.ascontiguousarray(windows, dtype=np.float32).tofile(work / "windows.bin")
        run([self.executable, work / "windows.bin", work / "results.bin"])
        floats = self.n_features + self.n_labels + 2
        raw = np.fromfile(work / "results.bin", dtype=np.uint8)
        raw = raw.reshape(len(windows), 4 * floats + self.n_labels)
        rows = raw[:, : 4 * floats].copy().view(np.float32)
        f, s = self.n_features, self.n_features + self.n_labels
        return {
            "features": rows[:, :f],
            "scores": rows[:, f:s],
            "label": rows[:, s].astype(int),
            "anomaly": rows[:, s + 1],
            "output": raw[:, 4 * floats :].copy().view(np.int8),
        }


def host_classifier_of(report: Any, work: Path) -> HostClassifier:
    """A C library built by build_c_library, unzipped into `work` and compiled with gcc and
    HOST_HARNESS."""
    root = unpack(report.zip_path, work / "unzipped")
    (work / "harness.c").write_text(HOST_HARNESS)
    exe = work / "harness"
    run(
        ["gcc", "-std=c99", "-O2", "-Wall", f"-I{root / 'src'}", work / "harness.c",
         *sorted((root / "src").glob("*.c")), "-lm", "-o", exe]
    )  # fmt: skip
    return HostClassifier(report, root, exe, report.feature_values, len(report.labels))


@pytest.fixture(scope="session")
def host_library() -> Any:
    """host_classifier_of: builds any C library report for the host."""
    return host_classifier_of


@pytest.fixture(scope="session")
def host_classifier(
    trained_impulse: TrainedImpulse, tmp_path_factory: pytest.TempPathFactory
) -> HostClassifier:
    """build_c_library (with the anomaly block) unzipped and compiled with gcc + HOST_HARNESS."""
    from workers.deploy.library import build_c_library

    t = trained_impulse
    work = tmp_path_factory.mktemp("host-library")
    example = int(np.flatnonzero(t.y == 2)[3])
    report = build_c_library(
        name="Gesture detector",
        **t.build_args(axis_names=t.axis_names),
        out_zip=work / "gesture-detector-c.zip",
        anomaly=t.anomaly,
        example_window=t.windows[example],
        example_label=t.labels[t.y[example]],
    )
    return host_classifier_of(report, work)
