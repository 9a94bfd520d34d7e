"""Windowing of samples: counts, contents, start times, resampling and padding on or off."""

from __future__ import annotations

import numpy as np
import pytest

from workers.windowing import (
    WindowingError,
    make_windows,
    make_windows_with_starts,
    resample,
    window_count,
    window_starts_ms,
)


def _ramp(length: int, axes: int = 3) -> np.ndarray:
    """Values that tell their own time index and axis: value = t + 1000 * axis."""
    t = np.arange(length, dtype=np.float32)[:, None]
    return t + 1000.0 * np.arange(axes, dtype=np.float32)[None, :]


def test_windows_are_slices_of_the_sample_at_the_stride() -> None:
    values = _ramp(100)
    settings = {"window_ms": 200, "stride_ms": 100, "frequency_hz": 100, "zero_pad": False}
    windows, starts = make_windows_with_starts(values, 10.0, **settings)
    assert windows.shape == (9, 20, 3)
    assert windows.dtype == np.float32 and windows.flags.c_contiguous
    for k in range(9):
        np.testing.assert_array_equal(windows[k], values[10 * k : 10 * k + 20])
    np.testing.assert_allclose(starts, np.arange(9) * 100.0)
    assert window_count(100, 10.0, **settings) == 9


@pytest.mark.parametrize("length", [1, 19, 20, 21, 57, 300])
@pytest.mark.parametrize("window_ms,stride_ms", [(200, 100), (200, 200), (150, 30), (1000, 250)])
@pytest.mark.parametrize("zero_pad", [False, True])
def test_window_count_matches_the_windows_made(
    length: int, window_ms: int, stride_ms: int, zero_pad: bool
) -> None:
    settings = {
        "window_ms": window_ms,
        "stride_ms": stride_ms,
        "frequency_hz": 100,
        "zero_pad": zero_pad,
    }
    windows = make_windows(_ramp(length, 2), 10.0, **settings)
    assert windows.shape[0] == window_count(length, 10.0, **settings)
    assert windows.shape[0] == window_starts_ms(length, 10.0, **settings).shape[0]
    # An independent count: every start s with s + window <= length, stepping by the stride.
    size, step = window_ms // 10, stride_ms // 10
    expected = len(range(0, length - size + 1, step))
    assert windows.shape[0] == (expected or (1 if zero_pad else 0))


def test_short_sample_is_padded_only_when_asked() -> None:
    values = _ramp(15)
    settings = {"window_ms": 200, "stride_ms": 100, "frequency_hz": 100}
    padded = make_windows(values, 10.0, zero_pad=True, padding="zero", **settings)
    assert padded.shape == (1, 20, 3)
    np.testing.assert_array_equal(padded[0, :15], values)
    assert not padded[0, 15:].any()
    assert make_windows(values, 10.0, zero_pad=False, **settings).shape == (0, 20, 3)


def test_resampling_matches_linear_interpolation() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(250, 2)).astype(np.float32)  # 250 samples at 250 Hz (4 ms)
    out = resample(values, 4.0, 100.0)
    source_t = np.arange(250) * 4.0
    target_t = np.arange(out.shape[0]) * 10.0
    assert target_t[-1] <= source_t[-1] < target_t[-1] + 10.0
    for axis in range(2):
        expected = np.interp(target_t, source_t, values[:, axis].astype(np.float64))
        np.testing.assert_allclose(out[:, axis], expected, rtol=0, atol=1e-5)


def test_windows_of_a_resampled_sample_follow_the_impulse_rate() -> None:
    # A 2 s linear ramp recorded at 200 Hz; at 50 Hz a window of 1 s holds 50 samples and a
    # ramp interpolates exactly, so each window is the ramp at the 50 Hz instants.
    t_ms = np.arange(400) * 5.0
    values = (t_ms / 1000.0).astype(np.float32)[:, None]
    settings = {"window_ms": 1000, "stride_ms": 500, "frequency_hz": 50, "zero_pad": False}
    windows, starts = make_windows_with_starts(values, 5.0, **settings)
    # 1995 ms recorded -> 100 instants at 50 Hz -> windows at 0, 500 and 1000 ms.
    assert windows.shape == (3, 50, 1)
    np.testing.assert_allclose(starts, [0.0, 500.0, 1000.0])
    for k, start in enumerate(starts):
        expected = (start + np.arange(50) * 20.0) / 1000.0
        np.testing.assert_allclose(windows[k, :, 0], expected, atol=1e-6)


def test_same_rate_within_rounding_is_not_resampled() -> None:
    values = _ramp(160, 1)
    windows = make_windows(
        values, 1000.0 / 16000.0, window_ms=5, stride_ms=5, frequency_hz=16000, zero_pad=False
    )
    np.testing.assert_array_equal(windows.reshape(-1), values[:160, 0])


def test_one_dimensional_values_are_one_axis() -> None:
    windows = make_windows(
        np.arange(10, dtype=np.float32),
        10.0,
        window_ms=50,
        stride_ms=50,
        frequency_hz=100,
        zero_pad=False,
    )
    assert windows.shape == (2, 5, 1)


@pytest.mark.parametrize(
    "settings,field",
    [
        ({"window_ms": 0, "stride_ms": 10, "frequency_hz": 100}, "window_ms"),
        ({"window_ms": 100, "stride_ms": -1, "frequency_hz": 100}, "stride_ms"),
        ({"window_ms": 100, "stride_ms": 10, "frequency_hz": 0}, "frequency_hz"),
        ({"window_ms": 1, "stride_ms": 10, "frequency_hz": 100}, "window_ms"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, float], field: str) -> None:
    with pytest.raises(WindowingError) as raised:
        make_windows(_ramp(50), 10.0, zero_pad=False, **settings)
    assert raised.value.field == field
