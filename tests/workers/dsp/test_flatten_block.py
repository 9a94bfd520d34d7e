"""Flatten block against numpy and scipy.stats."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from workers.dsp import BLOCKS


def test_flatten_matches_numpy_and_scipy_statistics(motion: Callable[..., np.ndarray]) -> None:
    windows = motion(5, 200, 3, 100.0, seed=2)
    features = BLOCKS["flatten"].process(windows, 100.0, {"scale-axes": 2.0})
    assert features.shape == (5, 21)
    x = (windows * np.float32(2.0)).astype(np.float64)
    expected = np.stack(
        [
            x.mean(axis=1),
            x.min(axis=1),
            x.max(axis=1),
            np.sqrt(np.mean(x**2, axis=1)),
            x.std(axis=1),
            stats.skew(x, axis=1),
            stats.kurtosis(x, axis=1),
        ],
        axis=-1,
    )  # (windows, axes, statistics): axis-major like the block
    np.testing.assert_allclose(features, expected.reshape(5, 21), rtol=1e-6, atol=1e-6)


def test_flatten_keeps_only_the_statistics_switched_on(motion: Callable[..., np.ndarray]) -> None:
    windows = motion(2, 100, 2, 100.0, seed=3)
    params = {"average": False, "minimum": False, "rms": False, "skewness": False}
    features = BLOCKS["flatten"].process(windows, 100.0, params)
    x = windows.astype(np.float64)
    expected = np.stack([x.max(axis=1), x.std(axis=1), stats.kurtosis(x, axis=1)], axis=-1)
    np.testing.assert_allclose(features, expected.reshape(2, 6), rtol=1e-6, atol=1e-6)


def test_constant_axis_has_zero_skewness_and_kurtosis() -> None:
    windows = np.full((1, 64, 1), 9.81, dtype=np.float32)
    features = BLOCKS["flatten"].process(windows, 100.0, {})
    average, minimum, maximum, rms, stdev, skewness, kurtosis = features[0]
    assert average == minimum == maximum == rms == np.float32(9.81)
    assert stdev < 1e-5 and skewness == 0.0 and kurtosis == 0.0
