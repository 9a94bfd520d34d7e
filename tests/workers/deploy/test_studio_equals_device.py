"""The studio's int8 scores are the device's: byte for byte, window by window.

Two impulses with the studio's default-sized models, trained for a few epochs (their accuracy is
not the point): BasicMotions (spectral analysis + 1D CNN, the demo recordings) and keyword
spotting (MFCC + 2D CNN on one-second words spoken by espeak-ng, made here). The studio's side
is its evaluation code path (workers.learn.evaluate.model_outputs: the device's quantization,
LiteRT's reference kernels); the device's side is the generated C library built for the host
with gcc, fed the same raw windows and running its own C DSP.

Two checks, so that a failure says which half went wrong:
  (a) the model: the studio's int8 model on the C DSP's features gives the C model's output
      bytes on every window;
  (b) end to end: the studio's numpy DSP and the C DSP (float32) quantize every window to the
      same int8 inputs, so from the same raw windows the output bytes are the same too.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.deploy.library import build_c_library
from workers.dsp import get_block
from workers.learn import quantize_int8, train
from workers.learn.evaluate import model_outputs
from workers.windowing import make_windows

ROOT = Path(__file__).resolve().parents[3]
BASIC_MOTIONS = ROOT / "backend" / "datasets" / "demo_data" / "basic-motions"
KWS_WORDS = {
    "yes": ["yes"],
    "no": ["no"],
    "up": ["up"],
    "down": ["down"],
    "unknown": ["left", "stop", "house", "tree", "happy", "bird"],
}
VOICES = ("m1", "m2", "m3", "f1", "f2", "f3")
EPOCHS = 2


@dataclass
class Impulse:
    """An impulse as the studio trains it: raw windows, their labels, block choices."""

    name: str
    impulse_input: dict[str, Any]
    dsp: dict[str, Any]
    learn_block: str
    axis_names: list[str]
    labels: list[str]
    train_windows: np.ndarray
    train_y: np.ndarray
    test_windows: np.ndarray


def studio_features(impulse: Impulse, windows: np.ndarray) -> np.ndarray:
    """The studio's numpy DSP of raw windows, shaped as training sees them (one DSP block)."""
    block = get_block(impulse.dsp["block"])
    params = block.validate_params(impulse.dsp["params"])
    return block.process(windows, impulse.impulse_input["frequency_hz"], params)


def basic_motions() -> Impulse:
    """The demo BasicMotions recordings (10 Hz, 6 axes) cut as the accuracy benchmark cuts them."""
    spec = {"window_ms": 2000, "stride_ms": 200, "frequency_hz": 10, "zero_pad": True}
    split: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    for category in ("training", "testing"):
        windows, names = [], []
        for path in sorted((BASIC_MOTIONS / category).glob("*.csv")):
            values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)[:, 1:]
            cut = make_windows(values, 100.0, **spec)
            windows.append(cut)
            names += [path.name.split(".")[0]] * len(cut)
        split[category] = (windows, names)
    labels = sorted(set(split["training"][1]))
    return Impulse(
        name="BasicMotions",
        impulse_input=spec,
        dsp={"block": "spectral-analysis", "params": {}},
        learn_block="classifier-conv1d",
        axis_names=["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"],
        labels=labels,
        train_windows=np.concatenate(split["training"][0]),
        train_y=np.asarray([labels.index(n) for n in split["training"][1]]),
        test_windows=np.concatenate(split["testing"][0]),
    )


def spoken_word(word: str, take: int, work: Path) -> np.ndarray:
    """One second of 16 kHz audio: `word` spoken by espeak-ng (voice, speed and pitch varied
    with `take`), after a short lead of silence."""
    from scipy.signal import resample_poly

    voice = VOICES[take % len(VOICES)]
    speed, pitch = 120 + (take * 37) % 100, 20 + (take * 53) % 69
    path = work / f"{word}-{take}.wav"
    subprocess.run(
        ["espeak-ng", "-v", f"en+{voice}", "-s", str(speed), "-p", str(pitch), "-w", str(path),
         word],
        check=True, capture_output=True,
    )  # fmt: skip
    with wave.open(str(path), "rb") as clip:
        rate = clip.getframerate()
        pcm = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2").astype(np.float64)
    audio = resample_poly(pcm, 16000, rate)
    lead = int(16000 * 0.01 * ((take * 7) % 30))
    out = np.zeros(16000)
    body = audio[: 16000 - lead]
    out[lead : lead + len(body)] = body
    return np.round(out).astype(np.float32)


def keyword_spotting(work: Path, per_label: int = 8) -> Impulse:
    """Words spoken by espeak-ng and background noise: 1 s clips, 16 kHz, one window each."""
    rng = np.random.default_rng(0)
    labels = sorted([*KWS_WORDS, "noise"])
    clips, y = [], []
    for label in labels:
        for take in range(per_label):
            if label == "noise":
                clip = rng.normal(0.0, 300.0 * (1 + take % 4), 16000).round().astype(np.float32)
            else:
                words = KWS_WORDS[label]
                clip = spoken_word(words[take % len(words)], take, work)
            clips.append(clip[:, None])
            y.append(labels.index(label))
    windows = np.stack(clips)
    return Impulse(
        name="Keywords",
        impulse_input={"window_ms": 1000, "stride_ms": 1000, "frequency_hz": 16000,
                       "zero_pad": True},
        dsp={"block": "mfcc", "params": {}},
        learn_block="classifier-conv2d",
        axis_names=["audio"],
        labels=labels,
        train_windows=windows,
        train_y=np.asarray(y),
        test_windows=windows,
    )  # fmt: skip


def trained_int8(impulse: Impulse) -> bytes:
    """The impulse's default-sized model trained for EPOCHS epochs, quantized as the studio does."""
    x = studio_features(impulse, impulse.train_windows)
    trained = train(
        impulse.learn_block, {"epochs": EPOCHS}, x, impulse.train_y, None, None,
        n_classes=len(impulse.labels),
    )  # fmt: skip
    return quantize_int8(trained.keras_model, x)


def device_outputs(
    impulse: Impulse, tflite: bytes, work: Path, host_library: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The C library's DSP features (n, features) float32 and raw int8 outputs (n, classes) of
    every test window, from the library built for the host with gcc."""
    report = build_c_library(
        name=impulse.name, impulse_input=impulse.impulse_input, dsp_blocks=[impulse.dsp],
        axes=len(impulse.axis_names), axis_names=impulse.axis_names, labels=impulse.labels,
        tflite_int8=tflite, out_zip=work / "library.zip",
    )  # fmt: skip
    got = host_library(report, work).classify(impulse.test_windows)
    return got["features"], got["output"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
@pytest.mark.parametrize("dataset", ["basic-motions", "keyword-spotting"])
def test_studio_int8_scores_equal_the_c_library(
    dataset: str, tmp_path: Path, host_library: Any
) -> None:
    if dataset == "keyword-spotting" and shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (./tinystudio installs it)")
    impulse = basic_motions() if dataset == "basic-motions" else keyword_spotting(tmp_path)
    tflite = trained_int8(impulse)
    c_features, device = device_outputs(impulse, tflite, tmp_path, host_library)
    n = len(impulse.test_windows)
    assert device.shape == (n, len(impulse.labels))

    # (a) The model alone: the studio's evaluation code path on the C DSP's features.
    on_c_features, _ = model_outputs(tflite, c_features)
    differing = [i for i in range(n) if on_c_features[i].tobytes() != device[i].tobytes()]
    assert differing == [], f"{len(differing)} of {n} windows differ, first {differing[:5]}"

    # (b) End to end: the studio's own DSP from the same raw windows.
    features = studio_features(impulse, impulse.test_windows)
    studio, _ = model_outputs(tflite, features)
    steps = np.abs(studio.astype(np.int32) - device.astype(np.int32)).max(axis=1)
    print(
        f"\n{impulse.name}: {n} test windows; model on the C features: identical on {n}/{n}; "
        f"end to end: {int((steps > 0).sum())} windows differ, by at most "
        f"{int(steps.max())} output steps"
    )
    assert studio.tobytes() == device.tobytes()
