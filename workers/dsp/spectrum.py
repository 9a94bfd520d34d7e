"""Frequency-domain helpers shared by the spectral and audio blocks: framing, FFT power, mel."""

from __future__ import annotations

import math

import numpy as np

from workers.dsp.base import DspParamError

# FFT lengths the blocks accept (radix-2 only, so the device FFT stays simple and small).
FFT_LENGTHS: tuple[int, ...] = tuple(2**k for k in range(3, 13))
# log() of an exactly zero energy would be -inf; speech feature code uses float64's epsilon.
ZERO_ENERGY = float(np.finfo(np.float64).eps)


def seconds_to_samples(seconds: float, frequency_hz: float) -> int:
    """Samples in `seconds`, rounded up unless within 0.001 of a whole number (as Edge Impulse)."""
    v = seconds * frequency_hz
    floor = math.floor(v)
    return int(floor) if v - floor < 0.001 else int(math.ceil(v))


def frame_layout(
    window_samples: int, frequency_hz: float, frame_length: float, frame_stride: float
) -> tuple[int, int, int]:
    """(frame_samples, stride_samples, frame_count) of a window; frames never run past its end."""
    frame_samples = seconds_to_samples(frame_length, frequency_hz)
    stride_samples = seconds_to_samples(frame_stride, frequency_hz)
    if frame_samples < 1:
        raise DspParamError(
            "frame_length",
            f"{frame_length:g} s is less than one sample at {frequency_hz:g} Hz; make it longer",
        )
    if stride_samples < 1:
        raise DspParamError(
            "frame_stride",
            f"{frame_stride:g} s is less than one sample at {frequency_hz:g} Hz; make it longer",
        )
    if window_samples < frame_samples:
        raise DspParamError(
            "frame_length",
            f"a frame of {frame_length:g} s ({frame_samples} samples) is longer than the window "
            f"({window_samples} samples); lengthen the window or shorten the frame",
        )
    count = (window_samples - frame_samples) // stride_samples + 1
    return frame_samples, stride_samples, count


def frames_of(
    signals: np.ndarray, frame_samples: int, stride_samples: int, count: int
) -> np.ndarray:
    """(rows, samples) -> (rows, count, frame_samples) overlapping frames (a read-only view)."""
    view = np.lib.stride_tricks.sliding_window_view(signals, frame_samples, axis=-1)
    return view[:, : (count - 1) * stride_samples + 1 : stride_samples, :]


def power_spectrum(frames: np.ndarray, fft_length: int) -> np.ndarray:
    """|rfft|^2 / fft_length of each frame, cropped or zero-padded to fft_length (float64)."""
    spectrum = np.fft.rfft(np.asarray(frames, dtype=np.float64), n=fft_length, axis=-1)
    return (spectrum.real**2 + spectrum.imag**2) / fft_length


def preemphasis(signals: np.ndarray, coefficient: float) -> np.ndarray:
    """y[t] = x[t] - c * x[t-1], with x[-1] taken as 0 (rows are signals, float64)."""
    x = np.asarray(signals, dtype=np.float64)
    y = x.copy()
    y[:, 1:] -= coefficient * x[:, :-1]
    return y


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of hz_to_mel."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_bins(
    num_filters: int, fft_length: int, frequency_hz: float, low_hz: float, high_hz: float
) -> np.ndarray:
    """FFT bin of each of the num_filters + 2 triangle corners, equally spaced in mel."""
    nyquist = frequency_hz / 2
    high = high_hz or nyquist
    if high > nyquist:
        raise DspParamError(
            "high_frequency",
            f"must be at most half the sampling frequency ({nyquist:g} Hz), got {high:g} Hz",
        )
    if low_hz >= high:
        raise DspParamError(
            "low_frequency", f"must be below the high frequency ({high:g} Hz), got {low_hz:g} Hz"
        )
    mels = np.linspace(hz_to_mel(low_hz), hz_to_mel(high), num_filters + 2)
    return np.floor((fft_length + 1) * mel_to_hz(mels) / frequency_hz).astype(np.int64)


def empty_mel_filters(
    num_filters: int, fft_length: int, frequency_hz: float, low_hz: float, high_hz: float
) -> int:
    """How many mel filters would cover no FFT bin (each would only ever output a constant)."""
    bins = mel_bins(num_filters, fft_length, frequency_hz, low_hz, high_hz)
    left, mid, right = bins[:-2], bins[1:-1], bins[2:]
    return int(np.sum((right == mid) & (mid - left <= 1)))


def mel_filterbank(bins: np.ndarray, fft_length: int) -> np.ndarray:
    """Triangular filters (num_filters, fft_length // 2 + 1) rising from bins[j] to bins[j+1]."""
    num_filters = len(bins) - 2
    bank = np.zeros((num_filters, fft_length // 2 + 1))
    for j in range(num_filters):
        left, mid, right = int(bins[j]), int(bins[j + 1]), int(bins[j + 2])
        for k in range(left, mid):
            bank[j, k] = (k - left) / (mid - left)
        for k in range(mid, right):
            bank[j, k] = (right - k) / (right - mid)
    return bank


def reflect_indices(rows: int, pad: int) -> np.ndarray:
    """Row index of each row of a 'symmetric' padding by `pad` on both sides (any pad size)."""
    j = np.arange(-pad, rows + pad) % (2 * rows)
    return np.where(j >= rows, 2 * rows - 1 - j, j)


def sliding_normalisation(features: np.ndarray, win_size: int) -> np.ndarray:
    """Local mean and variance normalisation over `win_size` rows (cepstral CMVN, speechpy-style).

    features: (batch, rows, cols). Each row loses the mean of the win_size rows centred on it
    (symmetric padding at the ends); then it is divided by the standard deviation of those
    mean-subtracted rows over the same window, plus 1e-10.
    """
    x = np.asarray(features, dtype=np.float64)
    rows = x.shape[1]
    pad = (win_size - 1) // 2
    index = reflect_indices(rows, pad)

    def window_sums(values: np.ndarray) -> np.ndarray:
        padded = values[:, index, :]
        csum = np.concatenate([np.zeros_like(padded[:, :1]), np.cumsum(padded, axis=1)], axis=1)
        return csum[:, win_size:] - csum[:, :-win_size]

    mean_subtracted = x - window_sums(x) / win_size
    mean = window_sums(mean_subtracted) / win_size
    mean_square = window_sums(mean_subtracted * mean_subtracted) / win_size
    std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
    return mean_subtracted / (std + 1e-10)
