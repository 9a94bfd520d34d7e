"""Padding of a sample shorter than one window: its last value (edge, the default), its mean per
axis, or zeros, after resampling; longer samples are never padded."""

from __future__ import annotations

import numpy as np
import pytest

from workers.windowing import WindowingError, make_windows, make_windows_with_starts, pad

SETTINGS = {"window_ms": 200, "stride_ms": 100, "frequency_hz": 100, "zero_pad": True}


def _short(length: int = 15) -> np.ndarray:
    """Two axes: a ramp 1..length and a constant -2."""
    t = np.arange(1, length + 1, dtype=np.float32)
    return np.stack([t, np.full(length, -2.0, dtype=np.float32)], axis=1)


@pytest.mark.parametrize(
    "padding,fill",
    [("edge", [15.0, -2.0]), ("mean", [8.0, -2.0]), ("zero", [0.0, 0.0])],
)
def test_each_padding_fills_the_rest_of_the_window(padding: str, fill: list[float]) -> None:
    values = _short()
    windows = make_windows(values, 10.0, padding=padding, **SETTINGS)
    assert windows.shape == (1, 20, 2) and windows.dtype == np.float32
    np.testing.assert_array_equal(windows[0, :15], values)
    np.testing.assert_array_equal(windows[0, 15:], np.tile(fill, (5, 1)))


def test_edge_padding_is_the_default() -> None:
    values = _short()
    np.testing.assert_array_equal(
        make_windows(values, 10.0, **SETTINGS),
        make_windows(values, 10.0, padding="edge", **SETTINGS),
    )
    windows, starts = make_windows_with_starts(values, 10.0, padding="mean", **SETTINGS)
    np.testing.assert_array_equal(windows[0, -1], [8.0, -2.0])
    assert starts.tolist() == [0.0]


def test_padding_follows_the_resampled_signal() -> None:
    # 6 samples at 50 Hz become 11 at 100 Hz (0, 0.5, ..., 5): the last value is 5, the mean 2.5.
    values = np.arange(6, dtype=np.float32)[:, None]
    edge = make_windows(values, 20.0, padding="edge", **SETTINGS)
    mean = make_windows(values, 20.0, padding="mean", **SETTINGS)
    assert edge[0, 10, 0] == 5.0 and (edge[0, 11:, 0] == 5.0).all()
    assert (mean[0, 11:, 0] == 2.5).all()


@pytest.mark.parametrize("padding", ["edge", "mean", "zero"])
def test_samples_of_a_window_or_more_are_never_padded(padding: str) -> None:
    values = _short(20)
    windows = make_windows(values, 10.0, padding=padding, **SETTINGS)
    np.testing.assert_array_equal(windows, values[None])
    off = make_windows(_short(), 10.0, padding=padding, **{**SETTINGS, "zero_pad": False})
    assert off.shape == (0, 20, 2)


def test_pad_keeps_float32_for_a_mean_that_needs_more_precision() -> None:
    values = np.array([[1.0], [2.0], [2.0]], dtype=np.float32)
    padded = pad(values, 5, "mean")
    assert padded.dtype == np.float32
    np.testing.assert_allclose(padded[3:, 0], np.float32(5.0 / 3.0))


def test_an_unknown_padding_names_the_field() -> None:
    with pytest.raises(WindowingError) as raised:
        make_windows(_short(), 10.0, padding="reflect", **SETTINGS)
    assert raised.value.field == "padding" and "edge, mean, zero" in raised.value.message
