"""Impulse input block: cuts a sample (time x axes) into fixed-length windows at the impulse rate.

A sample recorded every `interval_ms` is first resampled (linear interpolation) to the impulse's
`frequency_hz` when the two rates differ; windows of `window_samples = round(window_ms *
frequency_hz / 1000)` then start every `stride_samples = max(1, round(stride_ms * frequency_hz /
1000))` samples. A sample shorter than one window yields one padded window when `zero_pad` is set
(its name kept for stored impulses: it means "pad short samples"), and no window otherwise; the
`padding` says with what. Window start times are in milliseconds from the sample's start.

Only stored samples are padded: devices classify full windows of their own stream.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

# Two rates whose relative difference is below this are the same rate: it absorbs the rounding
# of interval_ms in uploads (e.g. 16 kHz stored as 0.0625 ms) without resampling.
RATE_TOLERANCE = 1e-6
# Samples up to this many usual windows long (1 s of audio, 2 s of sensor data) are classified
# whole: a shorter window would cut off the word or gesture, or the start or end where a class
# shows. The studio's suggested input and the tuner's windows both follow it.
WHOLE_SAMPLE_UP_TO = 2.0

# What fills a short sample's window past its end: its last value repeated ("edge", the default:
# no step the model could learn as a feature), its mean per axis, or 0.0.
Padding = Literal["edge", "mean", "zero"]
PADDINGS: tuple[str, ...] = get_args(Padding)
DEFAULT_PADDING: Padding = "edge"


class WindowingError(ValueError):
    """An input-block setting (or a sample) that cannot be windowed, naming the field to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def classified_whole(sample_ms: float, usual_window_ms: float) -> bool:
    """Whether samples of `sample_ms` are best classified whole (WHOLE_SAMPLE_UP_TO)."""
    return sample_ms <= WHOLE_SAMPLE_UP_TO * usual_window_ms


def window_samples(window_ms: float, frequency_hz: float) -> int:
    """Samples in one window at the impulse rate."""
    _check_settings(window_ms, window_ms, frequency_hz)
    return int(round(window_ms * frequency_hz / 1000.0))


def stride_samples(stride_ms: float, frequency_hz: float) -> int:
    """Samples between the starts of successive windows at the impulse rate (at least 1)."""
    return max(1, int(round(stride_ms * frequency_hz / 1000.0)))


def needs_resampling(interval_ms: float, frequency_hz: float) -> bool:
    """Whether a sample recorded every `interval_ms` must be resampled to `frequency_hz`."""
    if not interval_ms > 0:
        raise WindowingError("interval_ms", f"must be positive, got {interval_ms}")
    own_rate = 1000.0 / interval_ms
    return abs(own_rate - frequency_hz) > RATE_TOLERANCE * frequency_hz


def resampled_length(length_samples: int, interval_ms: float, frequency_hz: float) -> int:
    """Samples left after resampling: every impulse-rate instant within the recorded span."""
    if length_samples <= 0:
        return 0
    if not needs_resampling(interval_ms, frequency_hz):
        return int(length_samples)
    span_ms = (length_samples - 1) * interval_ms
    # The small epsilon keeps an instant that lands exactly on the last sample (up to float
    # rounding) inside the span.
    return int(math.floor(span_ms * frequency_hz / 1000.0 + 1e-9)) + 1


def resample(values: np.ndarray, interval_ms: float, frequency_hz: float) -> np.ndarray:
    """The sample at `frequency_hz` (linear interpolation per axis); unchanged if rates agree."""
    values = _as_samples(values)
    if not needs_resampling(interval_ms, frequency_hz):
        return values
    length = values.shape[0]
    count = resampled_length(length, interval_ms, frequency_hz)
    # Positions in units of the original sample index: one multiply, no per-axis loop below.
    position = np.arange(count, dtype=np.float64) * (1000.0 / frequency_hz / interval_ms)
    position = np.minimum(position, length - 1)
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, length - 1)
    frac = (position - left)[:, None]
    v = values.astype(np.float64)
    return (v[left] * (1.0 - frac) + v[right] * frac).astype(np.float32)


def window_count(
    length_samples: int,
    interval_ms: float,
    *,
    window_ms: float,
    stride_ms: float,
    frequency_hz: float,
    zero_pad: bool,
) -> int:
    """How many windows `make_windows` cuts from a sample of `length_samples` samples."""
    _check_settings(window_ms, stride_ms, frequency_hz)
    length = resampled_length(length_samples, interval_ms, frequency_hz)
    size = window_samples(window_ms, frequency_hz)
    if length >= size:
        return (length - size) // stride_samples(stride_ms, frequency_hz) + 1
    return 1 if zero_pad and length > 0 else 0


def window_starts_ms(
    length_samples: int,
    interval_ms: float,
    *,
    window_ms: float,
    stride_ms: float,
    frequency_hz: float,
    zero_pad: bool,
) -> np.ndarray:
    """Start time (ms from the sample's start) of every window, float64 (n_windows,)."""
    n = window_count(
        length_samples,
        interval_ms,
        window_ms=window_ms,
        stride_ms=stride_ms,
        frequency_hz=frequency_hz,
        zero_pad=zero_pad,
    )
    step_ms = stride_samples(stride_ms, frequency_hz) * 1000.0 / frequency_hz
    return np.arange(n, dtype=np.float64) * step_ms


def make_windows(
    values: np.ndarray,
    interval_ms: float,
    *,
    window_ms: float,
    stride_ms: float,
    frequency_hz: float,
    zero_pad: bool,
    padding: str = DEFAULT_PADDING,
) -> np.ndarray:
    """Windows of one sample: float32 (n_windows, window_samples, axes), a contiguous copy."""
    values = _as_samples(values)
    _check_settings(window_ms, stride_ms, frequency_hz)
    if padding not in PADDINGS:
        raise WindowingError("padding", f"must be one of {', '.join(PADDINGS)}, got {padding!r}")
    size = window_samples(window_ms, frequency_hz)
    axes = values.shape[1]
    signal = resample(values, interval_ms, frequency_hz)
    length = signal.shape[0]
    if length < size:
        if not zero_pad or length == 0:
            return np.zeros((0, size, axes), dtype=np.float32)
        return pad(signal, size, padding)[None]
    step = stride_samples(stride_ms, frequency_hz)
    # sliding_window_view gives (positions, axes, size) views without copying; the stride
    # slice picks window starts, and one transpose + copy materialises them time-major.
    view = np.lib.stride_tricks.sliding_window_view(signal, size, axis=0)[::step]
    return np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32)


def pad(signal: np.ndarray, size: int, padding: str) -> np.ndarray:
    """A (time, axes) signal shorter than `size`, lengthened to `size` with `padding`."""
    fill = {
        "edge": signal[-1],
        "mean": signal.astype(np.float64).mean(axis=0),
        "zero": np.zeros(signal.shape[1]),
    }[padding]
    padded = np.empty((size, signal.shape[1]), dtype=np.float32)
    padded[: len(signal)] = signal
    padded[len(signal) :] = fill
    return padded


def make_windows_with_starts(
    values: np.ndarray,
    interval_ms: float,
    *,
    window_ms: float,
    stride_ms: float,
    frequency_hz: float,
    zero_pad: bool,
    padding: str = DEFAULT_PADDING,
) -> tuple[np.ndarray, np.ndarray]:
    """`make_windows` and `window_starts_ms` together: (windows, start_ms)."""
    windows = make_windows(
        values,
        interval_ms,
        window_ms=window_ms,
        stride_ms=stride_ms,
        frequency_hz=frequency_hz,
        zero_pad=zero_pad,
        padding=padding,
    )
    starts = window_starts_ms(
        _as_samples(values).shape[0],
        interval_ms,
        window_ms=window_ms,
        stride_ms=stride_ms,
        frequency_hz=frequency_hz,
        zero_pad=zero_pad,
    )
    assert starts.shape[0] == windows.shape[0]
    return windows, starts


def _as_samples(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise WindowingError("values", f"must be shaped (time, axes), got {values.shape}")
    return values


def _check_settings(window_ms: float, stride_ms: float, frequency_hz: float) -> None:
    if not (isinstance(frequency_hz, int | float) and math.isfinite(frequency_hz)) or (
        frequency_hz <= 0
    ):
        raise WindowingError("frequency_hz", f"must be a positive number, got {frequency_hz!r}")
    if not (isinstance(window_ms, int | float) and math.isfinite(window_ms)) or window_ms <= 0:
        raise WindowingError("window_ms", f"must be a positive number, got {window_ms!r}")
    if not (isinstance(stride_ms, int | float) and math.isfinite(stride_ms)) or stride_ms <= 0:
        raise WindowingError("stride_ms", f"must be a positive number, got {stride_ms!r}")
    if round(window_ms * frequency_hz / 1000.0) < 1:
        raise WindowingError(
            "window_ms",
            f"{window_ms:g} ms at {frequency_hz:g} Hz holds no sample; make the window longer",
        )
