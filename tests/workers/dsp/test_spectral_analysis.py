"""Spectral analysis block against scipy (Butterworth design, filtering, FFT and moments)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.fft
from scipy import signal, stats

from workers.dsp import BLOCKS
from workers.dsp.filters import butterworth_sections, sosfilt


def reference_features(window: np.ndarray, fs: float, params: dict) -> np.ndarray:
    """Spectral features of one window, written from the block's description with scipy."""
    p = BLOCKS["spectral-analysis"].validate_params(params)
    n = p["fft-length"]
    hop = n // 2 if p["do-fft-overlap"] else n
    spacing = fs / n
    freqs = scipy.fft.rfftfreq(n, 1 / fs)
    out = []
    for axis in range(window.shape[1]):
        x = (window[:, axis] * np.float32(p["scale-axes"])).astype(np.float64)
        if p["filter-type"] != "none" and p["filter-order"] > 0:
            sos = signal.butter(
                p["filter-order"], p["filter-cutoff"], btype=p["filter-type"], fs=fs, output="sos"
            )
            x = signal.sosfilt(sos, x)
        x = x - x.mean()
        out += [np.sqrt(np.mean(x**2)), stats.skew(x), stats.kurtosis(x)]
        powers = np.zeros(n // 2 + 1)
        ix = 0
        while ix <= len(x):  # max-hold over FFT frames, the last ones zero-padded
            frame_power = np.abs(scipy.fft.rfft(x[ix : ix + n], n)) ** 2 / n
            powers = np.maximum(powers, frame_power)
            ix += hop
        if p["spectral-power-edges"]:
            edges = p["spectral-power-edges"]
            values = []
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                inside = [i for i in range(1, n // 2 + 1) if lo <= freqs[i] < hi]
                values.append(powers[inside].mean() if inside else 0.0)
        else:
            values = []
            for i in range(1, n // 2 + 1):
                if p["filter-type"] == "low" and freqs[i] - spacing / 2 > p["filter-cutoff"]:
                    break
                if p["filter-type"] == "high" and freqs[i] + spacing / 2 < p["filter-cutoff"]:
                    continue
                values.append(powers[i])
        values = np.asarray(values)
        out += list(np.log10(np.maximum(values, 1e-10)) if p["do-log"] else values)
    return np.asarray(out)


CASES = [
    ({}, 100.0, 100, 3),
    ({"filter-type": "low", "filter-cutoff": 5.0, "fft-length": 64}, 100.0, 200, 3),
    (
        {
            "filter-type": "high",
            "filter-cutoff": 2.0,
            "filter-order": 4,
            "fft-length": 32,
            "do-log": False,
            "do-fft-overlap": False,
            "scale-axes": 0.5,
        },
        62.5,
        125,
        2,
    ),
    (
        {"filter-type": "low", "filter-cutoff": 3.0, "filter-order": 8, "fft-length": 256},
        100.0,
        1000,
        1,
    ),
    ({"fft-length": 128, "spectral-power-edges": [0.5, 2, 5, 10, 20]}, 100.0, 300, 2),
    (
        {"filter-type": "high", "filter-cutoff": 10.0, "filter-order": 0, "fft-length": 16},
        50.0,
        64,
        3,
    ),
]


@pytest.mark.parametrize(("params", "fs", "samples", "axes"), CASES)
def test_spectral_features_match_scipy(
    motion: Callable[..., np.ndarray], params: dict, fs: float, samples: int, axes: int
) -> None:
    windows = motion(3, samples, axes, fs, seed=samples)
    features = BLOCKS["spectral-analysis"].process(windows, fs, params)
    for window, got in zip(windows, features, strict=True):
        expected = reference_features(window, fs, params)
        assert got.shape == expected.shape
        # Relative error, measured against 1 for values near zero (logs, skewness, kurtosis).
        # The design rounds filter coefficients to float32 as the device does; scipy keeps
        # float64, which accounts for the ~1e-5 differences on sharp filters.
        error = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        assert error.max() <= 1e-4, error.max()


@pytest.mark.parametrize(
    ("kind", "order", "cutoff", "fs"),
    [
        ("low", 2, 20.0, 50.0),
        ("low", 6, 3.0, 62.5),
        ("low", 8, 3.0, 100.0),
        ("high", 4, 2.0, 100.0),
        ("high", 8, 0.5, 100.0),
        ("high", 6, 400.0, 16000.0),
    ],
)
def test_butterworth_design_has_scipys_response(
    kind: str, order: int, cutoff: float, fs: float
) -> None:
    ours = butterworth_sections(kind, order, cutoff, fs)
    theirs = signal.butter(order, cutoff, btype=kind, fs=fs, output="sos")
    _, h_ours = signal.sosfreqz(ours, worN=1024, fs=fs)
    _, h_theirs = signal.sosfreqz(theirs, worN=1024, fs=fs)
    assert np.max(np.abs(h_ours - h_theirs)) < 1e-4
    # -3 dB at the cut-off, as a Butterworth filter should be.
    _, h_cut = signal.sosfreqz(ours, worN=[cutoff], fs=fs)
    assert abs(20 * np.log10(abs(h_cut[0])) + 3.0103) < 0.01


def test_sosfilt_matches_scipy_on_the_same_sections(motion: Callable[..., np.ndarray]) -> None:
    sos = butterworth_sections("low", 6, 4.0, 100.0)
    x = motion(4, 300, 1, 100.0, seed=5)[:, :, 0].astype(np.float64)
    np.testing.assert_allclose(
        sosfilt(sos, x), signal.sosfilt(sos, x, axis=-1), rtol=1e-12, atol=1e-12
    )


def test_a_tone_peaks_in_its_own_bin() -> None:
    fs, n = 100.0, 64
    t = np.arange(200) / fs
    window = np.sin(2 * np.pi * 12.5 * t).astype(np.float32)[None, :, None]
    features = BLOCKS["spectral-analysis"].process(window, fs, {"fft-length": n})[0]
    spectrum = features[3:]  # bins 1..32, 1.5625 Hz apart
    assert int(np.argmax(spectrum)) + 1 == round(12.5 / (fs / n))
    assert features[0] == pytest.approx(np.sqrt(0.5), rel=1e-3)  # RMS of a unit sine


def test_real_motion_separates_standing_from_running(basic_motions: np.ndarray) -> None:
    # Nine windows per recording, recordings in name order: badminton, running, standing,
    # walking. Axes 0-2 are the accelerometer.
    features = BLOCKS["spectral-analysis"].process(basic_motions, 10.0, {})
    per_axis = features.reshape(4, 9, 6, -1)
    accel_rms = per_axis[:, :, :3, 0].mean(axis=(1, 2))
    badminton, running, standing, walking = accel_rms
    assert standing < 0.3 * min(running, walking, badminton)
