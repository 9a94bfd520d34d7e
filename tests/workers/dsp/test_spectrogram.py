"""Spectrogram block against scipy.signal.stft."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import signal

from workers.dsp import BLOCKS


@pytest.mark.parametrize(
    ("params", "fs", "samples", "axes"),
    [
        ({"frame_length": 0.008, "frame_stride": 0.004}, 16000.0, 16000, 1),
        (
            {"frame_length": 0.016, "frame_stride": 0.01, "fft_length": 512, "noise_floor_db": -80},
            16000.0,
            8000,
            2,
        ),
        (
            {
                "frame_length": 0.064,
                "frame_stride": 0.032,
                "fft_length": 64,
                "noise_floor_db": -120,
            },
            1000.0,
            3000,
            3,
        ),
    ],
)
def test_spectrogram_matches_scipy_stft(
    audio: Callable[..., np.ndarray], params: dict, fs: float, samples: int, axes: int
) -> None:
    p = BLOCKS["spectrogram"].validate_params(params)
    windows = audio(2, samples, axes, fs, seed=samples)
    features = BLOCKS["spectrogram"].process(windows, fs, params)
    floor = p["noise_floor_db"]
    frame = round(p["frame_length"] * fs)
    stride = round(p["frame_stride"] * fs)
    for window, got in zip(windows, features, strict=True):
        expected = []
        for axis in range(axes):
            _, _, z = signal.stft(
                window[:, axis].astype(np.float64) / 32768.0,
                fs=fs,
                window="boxcar",
                nperseg=frame,
                noverlap=frame - stride,
                nfft=p["fft_length"],
                detrend=False,
                boundary=None,
                padded=False,
                scaling="spectrum",
            )
            # scaling="spectrum" divides by the frame length; undo it, then |X|^2 / N.
            power = np.abs(z.T * frame) ** 2 / p["fft_length"]
            db = 10 * np.log10(np.maximum(power, 1e-30))
            expected.append(np.clip((db - floor) / (12 - floor), 0, 1))
        expected_array = np.concatenate(expected)
        assert got.shape == expected_array.shape
        assert np.max(np.abs(got - expected_array)) <= 1e-6


def test_frames_longer_than_the_fft_are_cropped(audio: Callable[..., np.ndarray]) -> None:
    windows = audio(1, 16000, 1, 16000.0, seed=4)
    cropped = BLOCKS["spectrogram"].process(windows, 16000.0, {"frame_length": 0.02})
    exact = BLOCKS["spectrogram"].process(windows, 16000.0, {"frame_length": 0.008})
    # 0.02 s is 320 samples; with a 128-point FFT only the first 128 count, i.e. 0.008 s.
    # (Shorter frames fit one more frame in the window, hence the slice.)
    assert cropped.shape == (1, 99, 65)
    np.testing.assert_array_equal(cropped, exact[:, :99])
