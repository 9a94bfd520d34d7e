"""Feature explorer: PCA projection and ANOVA feature importance against independent references."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import stats

from workers.explore import ExplorerError, feature_explorer, feature_importance


def _features(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes; feature 0 separates them strongly, feature 3 weakly, the rest are noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 40)
    x = rng.normal(size=(120, 6))
    x[:, 0] += labels * 4.0
    x[:, 3] += labels * 0.5
    x[:, 5] *= 100.0  # a feature on another scale must not dominate the PCA
    return x.astype(np.float32), labels


def test_pca_gives_the_top_components_of_the_standardised_features() -> None:
    x, _ = _features()
    points = feature_explorer(x, "pca")
    assert points.shape == (120, 2) and points.dtype == np.float32
    # Independent reference: eigenvalues of the correlation matrix are the variances of the
    # principal components of standardised data.
    eigenvalues = np.sort(np.linalg.eigvalsh(np.corrcoef(x.T.astype(np.float64))))[::-1]
    np.testing.assert_allclose(points.var(axis=0), eigenvalues[:2], rtol=1e-4)
    assert abs(float(np.corrcoef(points[:, 0], points[:, 1])[0, 1])) < 1e-4
    np.testing.assert_array_equal(points, feature_explorer(x, "pca"))


def test_importance_is_the_anova_f_statistic() -> None:
    x, labels = _features()
    importance = feature_importance(x, labels)
    expected = [stats.f_oneway(*(x[labels == c, j] for c in range(3))).statistic for j in range(6)]
    np.testing.assert_allclose(importance, expected, rtol=1e-5)
    assert importance.argmax() == 0
    assert importance[3] > np.median(importance[[1, 2, 4, 5]])


def test_importance_of_constant_and_perfect_features() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    x = np.stack([np.ones(6), labels * 2.0, np.array([0.1, 0.2, 1.3, 0.9, 2.1, 1.8])], axis=1)
    importance = feature_importance(x, labels)
    assert importance[0] == 0.0
    assert np.isfinite(importance[1]) and importance[1] >= 1e12
    assert 0 < importance[2] < 1e12


def test_umap_is_used_when_installed_and_refused_clearly_otherwise() -> None:
    x, _ = _features()
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(ExplorerError) as raised:
            feature_explorer(x, "umap")
        assert raised.value.field == "method" and "umap" in raised.value.message.lower()
    else:
        assert feature_explorer(x, "umap").shape == (120, 2)


def test_bad_requests_name_the_field() -> None:
    x, labels = _features()
    with pytest.raises(ExplorerError) as raised:
        feature_explorer(x, "tsne")
    assert raised.value.field == "method"
    with pytest.raises(ExplorerError) as raised:
        feature_importance(x, np.zeros(120))
    assert raised.value.field == "labels"
