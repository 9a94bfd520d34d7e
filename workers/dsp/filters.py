"""Butterworth low/high-pass filters designed here (bilinear transform) and run as biquads."""

from __future__ import annotations

import math

import numpy as np

from workers.dsp.base import DspParamError


def butterworth_sections(
    kind: str, order: int, cutoff_hz: float, frequency_hz: float
) -> np.ndarray:
    """Second-order sections [b0, b1, b2, 1, a1, a2] of a Butterworth filter, float32-rounded.

    `order` must be even (the analog prototype's poles pair up into order/2 sections). The
    coefficients are rounded to float32 because that is what the device runs, so the numpy
    filter and the C filter use the same numbers.
    """
    if kind not in ("low", "high"):
        raise DspParamError("filter-type", f"must be 'low' or 'high', got {kind!r}")
    if order <= 0 or order % 2:
        raise DspParamError("filter-order", f"must be an even number (2, 4, 6, 8), got {order}")
    nyquist = frequency_hz / 2
    if not 0 < cutoff_hz < nyquist:
        raise DspParamError(
            "filter-cutoff",
            f"must be between 0 and half the sampling frequency ({nyquist:g} Hz), "
            f"got {cutoff_hz:g} Hz",
        )
    # Pre-warped analog cut-off, so the digital filter's -3 dB point lands on cutoff_hz.
    k = math.tan(math.pi * cutoff_hz / frequency_hz)
    sections = []
    for i in range(order // 2):
        r = math.sin(math.pi * (2 * i + 1) / (2 * order))
        d = 1.0 + 2.0 * r * k + k * k
        a1 = 2.0 * (k * k - 1.0) / d
        a2 = (1.0 - 2.0 * r * k + k * k) / d
        if kind == "low":
            b = (k * k / d, 2.0 * k * k / d, k * k / d)
        else:
            b = (1.0 / d, -2.0 / d, 1.0 / d)
        sections.append([b[0], b[1], b[2], 1.0, a1, a2])
    sos = np.asarray(sections, dtype=np.float32).astype(np.float64)
    for a1, a2 in sos[:, 4:]:
        if np.max(np.abs(np.roots([1.0, a1, a2]))) >= 1.0:
            raise DspParamError(
                "filter-cutoff",
                f"a {order}-pole filter at {cutoff_hz:g} Hz is numerically unstable at "
                f"{frequency_hz:g} Hz sampling; move the cut-off away from 0 and from "
                f"{nyquist:g} Hz, or lower the order",
            )
    return sos


def sosfilt(sos: np.ndarray, signals: np.ndarray) -> np.ndarray:
    """Filter each row of `signals` through the cascade (transposed direct form II, zero state).

    Vectorised over rows; the time loop is sequential by nature. float64 arithmetic.
    """
    y = np.array(signals, dtype=np.float64, copy=True)
    for b0, b1, b2, _, a1, a2 in sos:
        x = y
        y = np.empty_like(x)
        z1 = np.zeros(x.shape[0])
        z2 = np.zeros(x.shape[0])
        for t in range(x.shape[1]):
            xt = x[:, t]
            yt = b0 * xt + z1
            z1 = b1 * xt - a1 * yt + z2
            z2 = b2 * xt - a2 * yt
            y[:, t] = yt
    return y
