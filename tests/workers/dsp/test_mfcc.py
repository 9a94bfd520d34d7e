"""MFCC block against python_speech_features and a direct sliding-normalisation loop."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pytest
import python_speech_features as psf

from workers.dsp import BLOCKS
from workers.dsp.spectrum import reflect_indices

# python_speech_features still calls the deprecated logging.warn.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rectangular(length: int) -> np.ndarray:
    return np.ones((length,))


def reference_cmvnw(features: np.ndarray, win_size: int) -> np.ndarray:
    """Sliding mean/variance normalisation, one row at a time with numpy's symmetric pad."""
    pad = (win_size - 1) // 2
    padded = np.pad(features, ((pad, pad), (0, 0)), "symmetric")
    centred = np.array(
        [features[i] - padded[i : i + win_size].mean(axis=0) for i in range(len(features))]
    )
    padded = np.pad(centred, ((pad, pad), (0, 0)), "symmetric")
    return np.array(
        [centred[i] / (padded[i : i + win_size].std(axis=0) + 1e-10) for i in range(len(features))]
    )


@pytest.fixture(autouse=True)
def _quiet_truncation_warning(caplog: pytest.LogCaptureFixture) -> None:
    # python_speech_features logs a warning when frames (320) exceed the FFT (256): expected.
    caplog.set_level(logging.ERROR)


@pytest.mark.parametrize(
    ("params", "fs", "samples"),
    [
        ({"win_size": 0}, 16000.0, 16000),
        (
            {
                "win_size": 0,
                "frame_stride": 0.02,
                "num_cepstral": 20,
                "num_filters": 40,
                "fft_length": 512,
                "low_frequency": 0.0,
                "high_frequency": 6000.0,
                "pre_cof": 0.97,
            },
            16000.0,
            8000,
        ),
        (
            {"win_size": 0, "frame_length": 0.032, "frame_stride": 0.016, "pre_cof": 0.0},
            8000.0,
            4000,
        ),
    ],
)
def test_mfcc_matches_python_speech_features(
    audio: Callable[..., np.ndarray], params: dict, fs: float, samples: int
) -> None:
    p = BLOCKS["mfcc"].validate_params(params)
    windows = audio(3, samples, 1, fs, seed=samples)
    features = BLOCKS["mfcc"].process(windows, fs, params)
    for window, got in zip(windows, features, strict=True):
        expected = psf.mfcc(
            window[:, 0].astype(np.float64),
            fs,
            winlen=p["frame_length"],
            winstep=p["frame_stride"],
            numcep=p["num_cepstral"],
            nfilt=p["num_filters"],
            nfft=p["fft_length"],
            lowfreq=p["low_frequency"],
            highfreq=p["high_frequency"] or None,
            preemph=p["pre_cof"],
            ceplifter=0,
            appendEnergy=True,
            winfunc=rectangular,
        )
        # python_speech_features zero-pads one more frame past the end; the block never does.
        expected = expected[: len(got)]
        assert got.shape == expected.shape
        error = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        assert error.max() <= 1e-5, error.max()


@pytest.mark.parametrize("win_size", [101, 31, 3])
def test_mfcc_normalisation_matches_a_row_by_row_loop(
    audio: Callable[..., np.ndarray], win_size: int
) -> None:
    windows = audio(2, 16000, 1, 16000.0, seed=win_size)
    raw = BLOCKS["mfcc"].process(windows, 16000.0, {"win_size": 0}).astype(np.float64)
    normalised = BLOCKS["mfcc"].process(windows, 16000.0, {"win_size": win_size})
    # The block normalises its float64 cepstra; the loop sees them rounded to float32, which a
    # 3-frame window (tiny standard deviations) amplifies the most.
    tolerance = 1e-3 if win_size == 3 else 1e-4
    for plain, got in zip(raw, normalised, strict=True):
        expected = reference_cmvnw(plain, win_size)
        error = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        assert error.max() <= tolerance, error.max()


def test_reflect_indices_are_numpys_symmetric_padding_even_beyond_the_length() -> None:
    for rows, pad in [(5, 2), (5, 5), (3, 7), (49, 50)]:
        values = np.arange(rows)
        assert np.array_equal(values[reflect_indices(rows, pad)], np.pad(values, pad, "symmetric"))


def test_mfcc_of_several_axes_stacks_the_axes(audio: Callable[..., np.ndarray]) -> None:
    windows = audio(2, 8000, 2, 8000.0, seed=9)
    both = BLOCKS["mfcc"].process(windows, 8000.0, {})
    first = BLOCKS["mfcc"].process(windows[:, :, :1], 8000.0, {})
    second = BLOCKS["mfcc"].process(windows[:, :, 1:], 8000.0, {})
    np.testing.assert_array_equal(both, np.concatenate([first, second], axis=1))
