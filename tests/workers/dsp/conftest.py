"""Fixtures of the DSP tests: test signals and a host build of the C DSP blocks."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.dsp import BLOCKS
from workers.dsp.c_config import CBlockConfig
from workers.dsp.flatten import enabled_statistics
from workers.dsp.spectral import spectral_bands

C_DIR = Path(__file__).resolve().parents[3] / "workers" / "dsp" / "c"
CANARY = 16  # floats past the end of out and scratch that the C must leave alone

HARNESS_MAIN = r"""
int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: harness CASE IN OUT\n"); return 2; }
    const int which = atoi(argv[1]);
    FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "wb");
    if (!in || !out) { perror("open"); return 2; }
    const size_t wf = window_floats[which], of = output_floats[which];
    const size_t sf = run(which, NULL, NULL, NULL);
    float *window = malloc(wf * sizeof(float));
    float *features = malloc((of + CANARY) * sizeof(float));
    float *scratch = malloc((sf + CANARY) * sizeof(float));
    printf("scratch %zu\n", sf);
    while (fread(window, sizeof(float), wf, in) == wf) {
        /* NaN-filled scratch: a block that reads scratch it did not write shows up as NaN. */
        for (size_t i = 0; i < sf + CANARY; i++) scratch[i] = NAN;
        for (size_t i = 0; i < of + CANARY; i++) features[i] = 12345.0f;
        const int rc = (int)run(which, window, features, scratch);
        if (rc != 0) { fprintf(stderr, "block returned %d\n", rc); return 3; }
        for (size_t i = of; i < of + CANARY; i++)
            if (features[i] != 12345.0f) { fprintf(stderr, "output overrun\n"); return 4; }
        for (size_t i = sf; i < sf + CANARY; i++)
            if (!isnan(scratch[i])) { fprintf(stderr, "scratch overrun\n"); return 5; }
        fwrite(features, sizeof(float), of, out);
    }
    fclose(in); fclose(out);
    return 0;
}
"""


@dataclass
class CDsp:
    """The C blocks built for the host with one config per case."""

    executable: Path
    configs: Sequence[CBlockConfig]
    workdir: Path

    def run(self, case: int, windows: np.ndarray) -> np.ndarray:
        """Features of `windows` (n, samples, axes) computed by the C block of `case`."""
        cfg = self.configs[case]
        src = self.workdir / f"in{case}.bin"
        dst = self.workdir / f"out{case}.bin"
        np.ascontiguousarray(windows, dtype=np.float32).tofile(src)
        proc = subprocess.run(
            [str(self.executable), str(case), str(src), str(dst)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        reported = int(proc.stdout.split()[1])
        assert reported == cfg.scratch_floats, (reported, cfg.scratch_floats)
        return np.fromfile(dst, dtype=np.float32).reshape(len(windows), cfg.output_floats)


def build_c_dsp(configs: Sequence[CBlockConfig], workdir: Path, compiler: str = "gcc") -> CDsp:
    """Compile ts_dsp.c with a harness holding `configs`, for the host."""
    lines = [
        "#include <math.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        '#include "ts_dsp.h"',
        f"#define CANARY {CANARY}",
    ]
    cases = []
    for i, cfg in enumerate(configs):
        lines.append(cfg.declaration(f"cfg{i}"))
        cases.append(
            f"    case {i}: if (!window) return {cfg.function}_scratch_floats(&cfg{i});\n"
            f"        return (size_t)(unsigned)-{cfg.function}(&cfg{i}, window, out, scratch);"
        )
    lines.append(
        "static const size_t window_floats[] = {"
        + ", ".join(str(c.window_floats) for c in configs)
        + "};"
    )
    lines.append(
        "static const size_t output_floats[] = {"
        + ", ".join(str(c.output_floats) for c in configs)
        + "};"
    )
    lines.append(
        "static size_t run(int which, const float *window, float *out, float *scratch)\n"
        "{\n    switch (which) {\n"
        + "\n".join(cases)
        + "\n    default: return (size_t)-1;\n    }\n}"
    )
    lines.append(HARNESS_MAIN)
    harness = workdir / "harness.c"
    harness.write_text("\n".join(lines))
    exe = workdir / "harness"
    subprocess.run(
        [
            compiler,
            "-std=c99",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            str(C_DIR),
            str(harness),
            str(C_DIR / "ts_dsp.c"),
            "-o",
            str(exe),
            "-lm",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return CDsp(exe, configs, workdir)


@pytest.fixture(scope="session")
def c_dsp_builder(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., CDsp]:
    """Builds the C blocks for a list of configs in a fresh temporary directory."""

    def build(configs: Sequence[CBlockConfig]) -> CDsp:
        return build_c_dsp(configs, tmp_path_factory.mktemp("c_dsp"))

    return build


def motion_windows(n: int, samples: int, axes: int, frequency_hz: float, seed: int) -> np.ndarray:
    """Accelerometer-like windows: a gravity offset, a few tones per axis and sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / frequency_hz
    out = np.empty((n, samples, axes), dtype=np.float32)
    for w in range(n):
        for a in range(axes):
            f1, f2 = rng.uniform(0.5, frequency_hz / 4, size=2)
            sig = (
                rng.uniform(-10, 10)
                + rng.uniform(0.5, 4) * np.sin(2 * np.pi * f1 * t + rng.uniform(0, 6))
                + rng.uniform(0.1, 2) * np.sin(2 * np.pi * f2 * t)
                + rng.normal(0, 0.3, samples)
            )
            out[w, :, a] = sig
    return out


def audio_windows(n: int, samples: int, axes: int, frequency_hz: float, seed: int) -> np.ndarray:
    """16-bit-PCM-scaled audio: chirps and harmonics over noise at varied loudness."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / frequency_hz
    out = np.empty((n, samples, axes), dtype=np.float32)
    for w in range(n):
        for a in range(axes):
            f0 = rng.uniform(100, frequency_hz / 8)
            envelope = np.exp(-((t - rng.uniform(0, t[-1])) ** 2) / 0.05)
            sig = (
                rng.uniform(500, 8000)
                * envelope
                * (
                    np.sin(2 * np.pi * f0 * t * (1 + 0.3 * t))
                    + 0.4 * np.sin(2 * np.pi * 3 * f0 * t)
                )
            )
            sig += rng.normal(0, rng.uniform(5, 300), samples)
            out[w, :, a] = np.round(np.clip(sig, -32768, 32767))
    return out


@pytest.fixture(scope="session")
def motion() -> Callable[..., np.ndarray]:
    """Factory of accelerometer-like windows: motion(n, samples, axes, frequency_hz, seed)."""
    return motion_windows


@pytest.fixture(scope="session")
def audio() -> Callable[..., np.ndarray]:
    """Factory of 16-bit PCM audio windows: audio(n, samples, axes, frequency_hz, seed)."""
    return audio_windows


DATA_DIR = Path(__file__).resolve().parent / "data"


def basic_motions_windows(window_samples: int = 20, stride: int = 10) -> np.ndarray:
    """Windows over four real BasicMotions recordings (10 Hz, accelerometer + gyroscope)."""
    windows = []
    for path in sorted(DATA_DIR.glob("*.csv")):
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)[:, 1:]
        for start in range(0, len(values) - window_samples + 1, stride):
            windows.append(values[start : start + window_samples])
    return np.asarray(windows, dtype=np.float32)


def wav_windows() -> np.ndarray:
    """One second of real two-channel 16 kHz audio (MLPerf Tiny clip) as PCM values."""
    with wave.open(str(DATA_DIR / "mlperf-tiny-1s.wav"), "rb") as clip:
        pcm = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
        channels = clip.getnchannels()
    return pcm.reshape(1, -1, channels).astype(np.float32)


@pytest.fixture(scope="session")
def basic_motions() -> np.ndarray:
    """Real BasicMotions windows: (n, 20 samples, 6 axes) at 10 Hz."""
    return basic_motions_windows()


@pytest.fixture(scope="session")
def wav_audio() -> np.ndarray:
    """Real audio: (1, 16000 samples, 2 channels) at 16 kHz."""
    return wav_windows()


def feature_floors(
    block: str,
    params: dict[str, Any],
    frequency_hz: float,
    windows: np.ndarray,
    reference: np.ndarray,
) -> np.ndarray:
    """The per-feature 'near zero' scale described in the module docstring."""
    n, _, axes = windows.shape
    checked = BLOCKS[block].validate_params(params)
    if block == "flatten":
        stats = enabled_statistics(checked)
        scale = np.abs(windows * np.float32(checked["scale-axes"])).max(axis=1)  # (n, axes)
        dimensionless = np.array([s in ("skewness", "kurtosis") for s in stats])
        floors = np.where(dimensionless[None, None, :], 1.0, scale[:, :, None])
        return np.broadcast_to(floors, (n, axes, len(stats))).reshape(n, -1)
    if block == "spectral-analysis":
        per_axis = reference.reshape(n, axes, -1)
        floors = np.ones_like(per_axis)
        floors[:, :, 0] = np.maximum(np.abs(per_axis[:, :, 0]), 1e-12)
        if not checked["do-log"]:
            floors[:, :, 3:] = per_axis[:, :, 3:].max(axis=-1, keepdims=True)
        assert per_axis.shape[-1] == 3 + len(spectral_bands(checked, frequency_hz))
        return floors.reshape(n, -1)
    return np.ones_like(reference)


@pytest.fixture(scope="session")
def parity_floors() -> Callable[..., np.ndarray]:
    """feature_floors: the per-feature scale below which C/numpy errors count as absolute."""
    return feature_floors
