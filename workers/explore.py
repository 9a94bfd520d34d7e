"""Feature explorer: 2-D projections of the features (PCA, UMAP) and per-feature importance."""

from __future__ import annotations

import numpy as np

METHODS = ("pca", "umap")
# F statistic reported for a feature that separates the classes perfectly (no spread within any
# class): a large finite number, because JSON has no infinity.
PERFECT_F = 1e12
# Features whose spread is below this are constant and get no weight in PCA.
MIN_STD = 1e-12


class ExplorerError(ValueError):
    """A feature-explorer request that cannot be served, naming the field to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def feature_explorer(features: np.ndarray, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """2-D coordinates (n, 2) float32 of every window's features (n, d), row for row.

    "pca": the first two principal components of the standardised features (each feature to
    zero mean and unit variance, so that no unit dominates), computed with numpy's SVD; the
    signs are fixed so the largest loading of each component is positive, making the picture
    repeatable. "umap": UMAP (2 components, `seed`) when the `umap` package is installed.
    """
    x = _matrix(features)
    if method == "pca":
        return pca_2d(x)
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ExplorerError(
                "method", "UMAP needs the 'umap-learn' package, which is not installed; use pca"
            ) from None
        if x.shape[0] < 4:
            raise ExplorerError("features", "UMAP needs at least 4 windows")
        reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, x.shape[0] - 1))
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)
    raise ExplorerError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The first two principal components of standardised features, float32 (n, 2)."""
    x = _matrix(x)
    n = x.shape[0]
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std < MIN_STD, 1.0, std)
    out = np.zeros((n, 2), dtype=np.float32)
    if n < 2:
        return out
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    components = vt[:2]
    largest = np.abs(components).argmax(axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), largest])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    projected = z @ components.T
    out[:, : projected.shape[1]] = projected
    return out


def feature_importance(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-feature importance (d,) float64: the one-way ANOVA F statistic of each feature across
    the label groups (between-class variance over within-class variance). Higher means the
    feature separates the classes better; 0 for a constant feature, PERFECT_F for a feature with
    no spread inside any class but different class means."""
    x = _matrix(features).astype(np.float64)
    labels = np.asarray(labels)
    if labels.shape[0] != x.shape[0]:
        raise ExplorerError("labels", f"{labels.shape[0]} labels for {x.shape[0]} windows")
    classes, group = np.unique(labels, return_inverse=True)
    k = classes.size
    n = x.shape[0]
    if k < 2:
        raise ExplorerError("labels", "importance needs at least 2 different labels")
    if n <= k:
        raise ExplorerError("features", f"needs more windows ({n}) than labels ({k})")
    counts = np.bincount(group, minlength=k).astype(np.float64)
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, group, x)
    means = sums / counts[:, None]
    grand = x.mean(axis=0)
    between = (counts[:, None] * (means - grand) ** 2).sum(axis=0) / (k - 1)
    within = ((x - means[group]) ** 2).sum(axis=0) / (n - k)
    # Tolerance relative to the feature's scale, so float rounding is not read as spread.
    tiny = 1e-12 * (np.abs(grand) + 1.0) ** 2
    f = np.divide(between, within, out=np.zeros_like(between), where=within > tiny)
    f[(within <= tiny) & (between > tiny)] = PERFECT_F
    return f


def _matrix(features: np.ndarray) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ExplorerError("features", f"must be shaped (windows, features), got {x.shape}")
    x = x.reshape(x.shape[0], -1)
    if not np.isfinite(x).all():
        raise ExplorerError("features", "hold NaN or infinite values")
    return x
