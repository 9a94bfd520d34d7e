"""MFE block against python_speech_features' filterbank energies."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pytest
import python_speech_features as psf

from workers.dsp import BLOCKS

# python_speech_features still calls the deprecated logging.warn.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _quiet_truncation_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)  # frames longer than the FFT are expected here


@pytest.mark.parametrize(
    ("params", "fs", "samples"),
    [
        ({}, 16000.0, 16000),
        (
            {
                "num_filters": 32,
                "fft_length": 512,
                "frame_length": 0.025,
                "frame_stride": 0.0125,
                "low_frequency": 0.0,
                "noise_floor_db": -72.0,
            },
            16000.0,
            8000,
        ),
        ({"high_frequency": 3000.0, "noise_floor_db": -40.0}, 8000.0, 4000),
    ],
)
def test_mfe_matches_python_speech_features(
    audio: Callable[..., np.ndarray], params: dict, fs: float, samples: int
) -> None:
    p = BLOCKS["mfe"].validate_params(params)
    windows = audio(3, samples, 1, fs, seed=samples + 1)
    features = BLOCKS["mfe"].process(windows, fs, params)
    floor = p["noise_floor_db"]
    for window, got in zip(windows, features, strict=True):
        energies, _ = psf.fbank(
            window[:, 0].astype(np.float64) / 32768.0,
            fs,
            winlen=p["frame_length"],
            winstep=p["frame_stride"],
            nfilt=p["num_filters"],
            nfft=p["fft_length"],
            lowfreq=p["low_frequency"],
            highfreq=p["high_frequency"] or None,
            preemph=0.98,
            winfunc=lambda length: np.ones((length,)),
        )
        expected = np.clip((10 * np.log10(energies) - floor) / (12 - floor), 0, 1)
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) <= 1e-6
        assert 0.0 < got.mean() < 1.0  # the test signal is neither all noise nor all clipped


def test_silence_is_zero_and_full_scale_is_near_one() -> None:
    silent = np.zeros((1, 16000, 1), np.float32)
    assert np.all(BLOCKS["mfe"].process(silent, 16000.0, {}) == 0.0)
    t = np.arange(16000) / 16000.0
    loud = (32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None, :, None]
    assert BLOCKS["mfe"].process(loud, 16000.0, {}).max() > 0.8
