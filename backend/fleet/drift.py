"""Drift statistics over plain numpy arrays: population stability index on the reference's decile
bins, the two-sample Kolmogorov–Smirnov statistic, and the reference a device's per-window
summaries are compared with.

Devices report, per telemetry item, the mean of each feature over the `count` windows it
summarises. For count 1 that mean is the window's feature itself, so it is compared with the
training windows' features directly. For count k > 1 the mean of k windows is narrower than one
window (its variance is about 1/k of it), so comparing it with single windows would call a
healthy device drifted; the reference is then the means of k training windows drawn at random,
the distribution the device's reports would have if the field data were the training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Proportions are floored at this before the logarithm, so an empty bin costs a finite amount.
PSI_FLOOR = 1e-4
# Drawn means of k windows in a resampled reference: enough that its deciles are stable.
RESAMPLED_REFERENCE = 4000


def decile_edges(reference: np.ndarray) -> np.ndarray:
    """The reference's inner decile boundaries (at most nine, repeated ones merged)."""
    return np.unique(np.quantile(np.asarray(reference, dtype=np.float64), np.linspace(0.1, 0.9, 9)))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # A value equal to an edge falls in the bin below it, as the deciles are defined.
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return np.maximum(counts / max(len(values), 1), PSI_FLOOR)


def psi(reference: np.ndarray, field: np.ndarray) -> float:
    """Population stability index of `field` against `reference`, on the reference's deciles:
    sum over bins of (field share - reference share) * ln(field share / reference share)."""
    reference = np.asarray(reference, dtype=np.float64)
    field = np.asarray(field, dtype=np.float64)
    if len(reference) == 0 or len(field) == 0:
        return 0.0
    edges = decile_edges(reference)
    expected, actual = _shares(reference, edges), _shares(field, edges)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical
    distribution functions."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    if len(a) == 0 or len(b) == 0:
        return 0.0
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def label_psi(reference: dict[str, float], field: dict[str, float]) -> float:
    """PSI over labels: each label a bin, shares from the counts given."""
    labels = sorted(set(reference) | set(field))
    ref_total = sum(reference.values()) or 1.0
    field_total = sum(field.values()) or 1.0
    if not reference or not field:
        return 0.0
    expected = np.maximum([reference.get(x, 0) / ref_total for x in labels], PSI_FLOOR)
    actual = np.maximum([field.get(x, 0) / field_total for x in labels], PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def reference_for_count(features: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """The distribution a summary of `count` windows has when the data is the reference's:
    the features themselves for one window, else means of `count` windows drawn at random."""
    features = np.asarray(features, dtype=np.float64)
    if count <= 1 or len(features) == 0:
        return features
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(features), size=(RESAMPLED_REFERENCE, count))
    return features[picks].mean(axis=1)  # type: ignore[no-any-return]


@dataclass
class FeatureDrift:
    index: int
    psi: float
    ks: float
    reference_mean: float
    field_mean: float


def feature_drift(
    reference: np.ndarray, field_means: np.ndarray, counts: np.ndarray
) -> list[FeatureDrift]:
    """PSI and KS of every feature between the reference windows (windows x features) and the
    devices' per-item means (items x features), each item summarising `counts[i]` windows.

    Items are compared with the reference resampled for their window count (module docstring);
    the typical count, the median, is used for all so that one reference serves the batch."""
    count = int(np.median(counts)) if len(counts) else 1
    resampled = reference_for_count(reference, count)
    result = []
    for index in range(reference.shape[1]):
        ref, got = resampled[:, index], field_means[:, index]
        result.append(
            FeatureDrift(
                index=index,
                psi=psi(ref, got),
                ks=ks_statistic(ref, got),
                reference_mean=float(np.mean(reference[:, index])),
                field_mean=float(np.mean(got)) if len(got) else 0.0,
            )
        )
    return result


def trend_per_day(days: np.ndarray, scores: np.ndarray) -> float | None:
    """The least-squares slope of `scores` against time in days; None with too few points."""
    if len(days) < 2 or float(np.ptp(days)) == 0.0:
        return None
    return float(np.polyfit(days, scores, 1)[0])
