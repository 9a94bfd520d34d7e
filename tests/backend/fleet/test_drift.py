"""The drift statistics against values known by hand, by formula and from scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from backend.fleet import drift


def test_psi_of_identical_distributions_is_zero() -> None:
    values = np.random.default_rng(1).normal(size=5000)
    assert drift.psi(values, values) == 0.0
    assert drift.psi(values, values.copy()[::-1]) == 0.0


def test_psi_of_a_shifted_normal_matches_its_formula() -> None:
    # On N(0, 1)'s decile bins, N(0.5, 1) puts Phi(e_i - 0.5) - Phi(e_(i-1) - 0.5) in bin i.
    shift = 0.5
    edges = stats.norm.ppf(np.linspace(0.1, 0.9, 9))
    cdf = np.concatenate([[0.0], stats.norm.cdf(edges - shift), [1.0]])
    shares = np.diff(cdf)
    expected = float(np.sum((shares - 0.1) * np.log(shares / 0.1)))
    rng = np.random.default_rng(2)
    reference = rng.normal(size=200_000)
    field = rng.normal(loc=shift, size=200_000)
    assert expected == pytest.approx(0.2377, abs=1e-3)  # below shift**2, the limit of fine bins
    assert drift.psi(reference, field) == pytest.approx(expected, abs=0.01)


def test_ks_statistic_by_hand_and_against_scipy() -> None:
    assert drift.ks_statistic(np.array([1, 2, 3]), np.array([4, 5, 6])) == 1.0
    assert drift.ks_statistic(np.array([1, 2, 3, 4]), np.array([3, 4, 5, 6])) == 0.5
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=700), rng.normal(0.3, 1.2, size=450)
    assert drift.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_label_psi_by_hand() -> None:
    assert drift.label_psi({"a": 50, "b": 50}, {"a": 5, "b": 5}) == 0.0
    expected = 0.4 * math.log(0.9 / 0.5) + (-0.4) * math.log(0.1 / 0.5)
    assert drift.label_psi({"a": 50, "b": 50}, {"a": 90, "b": 10}) == pytest.approx(expected)
    # A label the training set never had costs a large but finite amount.
    assert 1.0 < drift.label_psi({"a": 1}, {"a": 1, "c": 1}) < 10.0


def test_means_of_several_windows_are_compared_with_means_of_as_many_training_windows() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(5000, 2))
    field_means = rng.normal(size=(800, 8, 2)).mean(axis=1)  # each item: 8 windows, no drift
    assert np.var(drift.reference_for_count(reference, 8)[:, 0]) == pytest.approx(1 / 8, rel=0.1)
    healthy = drift.feature_drift(reference, field_means, np.full(800, 8))
    assert all(f.psi < 0.1 for f in healthy)
    # The same items against single windows look drifted though nothing moved.
    assert drift.psi(reference[:, 0], field_means[:, 0]) > 0.25


def test_trend_per_day() -> None:
    days = np.array([0.0, 1.0, 2.0, 3.0])
    assert drift.trend_per_day(days, 0.9 - 0.05 * days) == pytest.approx(-0.05)
    assert drift.trend_per_day(np.array([1.0]), np.array([0.9])) is None
