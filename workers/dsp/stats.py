"""Time-domain statistics of signals (mean, RMS, moments), computed the same way as the C twin."""

from __future__ import annotations

import numpy as np

# A variance this small relative to the signal's power is rounding noise, not signal: skewness
# and kurtosis of such a (constant) signal are reported as 0 in numpy and C alike.
DEGENERATE_VARIANCE_RATIO = 1e-10


def moments(signals: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of each row of `signals` (rows = signals, float64 in, float64 out).

    Population definitions (divide by N), as numpy's std and scipy.stats' skew/kurtosis
    (bias=True, Fisher kurtosis: a normal distribution gives 0).
    """
    x = np.asarray(signals, dtype=np.float64)
    mean = x.mean(axis=-1)
    d = x - mean[..., None]
    m2 = np.mean(d * d, axis=-1)
    m3 = np.mean(d * d * d, axis=-1)
    m4 = np.mean((d * d) * (d * d), axis=-1)
    power = np.mean(x * x, axis=-1)
    degenerate = m2 <= DEGENERATE_VARIANCE_RATIO * power
    safe_m2 = np.where(degenerate, 1.0, m2)
    skewness = np.where(degenerate, 0.0, m3 / (safe_m2 * np.sqrt(safe_m2)))
    kurtosis = np.where(degenerate, 0.0, m4 / (safe_m2 * safe_m2) - 3.0)
    return {
        "average": mean,
        "minimum": x.min(axis=-1),
        "maximum": x.max(axis=-1),
        "rms": np.sqrt(power),
        "stdev": np.sqrt(m2),
        "skewness": skewness,
        "kurtosis": kurtosis,
    }
