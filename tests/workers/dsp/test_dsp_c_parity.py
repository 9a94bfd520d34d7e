"""The C blocks (ts_dsp.c, built for the host) compute the numpy blocks' features.

Tolerance: the error of each feature is |c - numpy| / max(|numpy|, floor) and must stay within
1e-4 (raw must be exact). The floor is what "near zero" means for that feature:
  - flatten: the window's largest |value| for average/minimum/maximum/rms/stdev (so a mean close
    to 0 is judged against the signal's scale), 1 for skewness and kurtosis (dimensionless);
  - spectral analysis: the value itself for RMS, 1 for skewness, kurtosis and log10 powers
    (absolute error in decades), the axis's largest power for linear powers;
  - MFCC, MFE, spectrogram: 1 (cepstra are natural logs or normalised; MFE and spectrogram lie in
    [0, 1]), i.e. an absolute error.
numpy computes in float64 and rounds once; the C runs float32 throughout, so the figures are
the device's rounding error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workers.dsp import BLOCKS
from workers.dsp.c_config import c_block_config

TOLERANCE = 1e-4

# (block, params, frequency_hz, window_samples, axes, signal kind)
CASES: list[tuple[str, dict[str, Any], float, int, int, str]] = [
    ("raw", {"scale-axes": 2.5}, 100.0, 100, 3, "motion"),
    ("flatten", {}, 100.0, 100, 3, "motion"),
    ("flatten", {"scale-axes": 0.1, "minimum": False}, 16000.0, 16000, 1, "audio"),
    ("spectral-analysis", {}, 100.0, 100, 3, "motion"),
    (
        "spectral-analysis",
        {"filter-type": "low", "filter-cutoff": 5.0, "fft-length": 64},
        100.0,
        200,
        3,
        "motion",
    ),
    (
        "spectral-analysis",
        {
            "filter-type": "high",
            "filter-cutoff": 2.0,
            "filter-order": 4,
            "fft-length": 32,
            "do-log": False,
            "do-fft-overlap": False,
        },
        62.5,
        125,
        3,
        "motion",
    ),
    (
        "spectral-analysis",
        {"fft-length": 128, "spectral-power-edges": [0.5, 2, 5, 10, 20]},
        100.0,
        300,
        2,
        "motion",
    ),
    (
        "spectral-analysis",
        {"filter-type": "low", "filter-cutoff": 3.0, "filter-order": 8, "fft-length": 256},
        100.0,
        1000,
        1,
        "motion",
    ),
    (
        "spectral-analysis",
        {"filter-type": "high", "filter-cutoff": 8.0, "filter-order": 0, "scale-axes": 9.81},
        50.0,
        50,
        3,
        "motion",
    ),
    ("mfcc", {}, 16000.0, 16000, 1, "audio"),
    ("mfcc", {"win_size": 0}, 16000.0, 16000, 1, "audio"),
    (
        "mfcc",
        {
            "num_filters": 40,
            "fft_length": 512,
            "frame_length": 0.025,
            "win_size": 31,
            "low_frequency": 0.0,
            "high_frequency": 3500.0,
        },
        8000.0,
        4000,
        2,
        "audio",
    ),
    ("mfe", {}, 16000.0, 16000, 1, "audio"),
    (
        "mfe",
        {
            "num_filters": 32,
            "fft_length": 128,
            "frame_length": 0.016,
            "frame_stride": 0.008,
            "noise_floor_db": -80.0,
        },
        8000.0,
        8000,
        2,
        "audio",
    ),
    ("spectrogram", {}, 16000.0, 16000, 1, "audio"),
    ("spectrogram", {"fft_length": 256, "frame_length": 0.025}, 16000.0, 8000, 2, "audio"),
    (
        "spectrogram",
        {"fft_length": 4096, "frame_length": 0.25, "frame_stride": 0.125},
        16000.0,
        16000,
        1,
        "audio",
    ),
    ("spectral-analysis", {"fft-length": 2048}, 1000.0, 3000, 1, "motion"),
    # Mel corners that share an FFT bin (half-triangles) at low frequencies.
    ("mfe", {"low_frequency": 0.0}, 16000.0, 16000, 1, "audio"),
    # Real recordings: BasicMotions at 10 Hz (20-sample windows, 6 axes), MLPerf Tiny audio.
    ("flatten", {}, 10.0, 20, 6, "basic-motions"),
    # A small signal on a large offset: the moments' hardest case in float32.
    ("flatten", {}, 100.0, 100, 3, "offset-motion"),
    (
        "spectral-analysis",
        {"filter-type": "low", "filter-cutoff": 3.0},
        10.0,
        20,
        6,
        "basic-motions",
    ),
    (
        "spectral-analysis",
        {
            "filter-type": "high",
            "filter-cutoff": 0.5,
            "filter-order": 2,
            "fft-length": 32,
            "do-fft-overlap": False,
        },
        10.0,
        20,
        6,
        "basic-motions",
    ),
    ("mfcc", {}, 16000.0, 16000, 2, "wav"),
    ("mfe", {}, 16000.0, 16000, 2, "wav"),
    ("spectrogram", {}, 16000.0, 16000, 2, "wav"),
]


@pytest.fixture(scope="module")
def c_dsp(c_dsp_builder: Callable[..., Any]) -> Any:
    configs = [
        c_block_config(block, params, fs, samples, axes)
        for block, params, fs, samples, axes, _ in CASES
    ]
    return c_dsp_builder(configs)


@pytest.mark.parametrize(
    "case", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_c_features_equal_numpy_features(
    case: int,
    c_dsp: Any,
    motion: Callable[..., np.ndarray],
    audio: Callable[..., np.ndarray],
    basic_motions: np.ndarray,
    wav_audio: np.ndarray,
    parity_floors: Callable[..., np.ndarray],
) -> None:
    block, params, fs, samples, axes, kind = CASES[case]
    if kind == "basic-motions":
        windows = basic_motions
    elif kind == "wav":
        windows = wav_audio
    elif kind == "motion":
        windows = motion(4, samples, axes, fs, seed=100 + case)
    elif kind == "offset-motion":
        windows = (motion(4, samples, axes, fs, seed=100 + case) + 1000.0).astype(np.float32)
    else:
        windows = audio(2, samples, axes, fs, seed=100 + case)
    assert windows.shape[1:] == (samples, axes)
    reference = BLOCKS[block].process(windows, fs, params).reshape(len(windows), -1)
    got = c_dsp.run(case, windows)
    assert got.shape == reference.shape
    assert np.all(np.isfinite(got))
    if block == "raw":
        np.testing.assert_array_equal(got, reference)
        return
    floors = parity_floors(block, params, fs, windows, reference)
    error = np.abs(got.astype(np.float64) - reference) / np.maximum(
        np.abs(reference.astype(np.float64)), floors
    )
    worst = int(np.argmax(error))
    assert error.max() <= TOLERANCE, (
        f"max error {error.max():.3g} at feature {worst % reference.shape[1]}: "
        f"numpy {reference.flat[worst]!r} C {got.flat[worst]!r}"
    )


def test_c_flatten_reports_zero_moments_for_a_constant_axis(c_dsp: Any) -> None:
    windows = np.full((1, 100, 3), 9.81, dtype=np.float32)
    got = c_dsp.run(1, windows).reshape(3, 7)
    np.testing.assert_array_equal(got[:, 5:], 0.0)
    np.testing.assert_allclose(got[:, :4], 9.81, rtol=1e-6)
