"""K-means anomaly detection in numpy: the learning block, fit, JSON-able state, and edge-distance
scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.learn.base import LearnBlock, LearnParam, LearnParamError

# Starts of K-means++ per fit; the one with the least inertia wins.
N_STARTS = 3
# Features whose training spread is below this are left unscaled (constant features).
MIN_STD = 1e-8


def fit_kmeans(x: np.ndarray, params: dict[str, Any]) -> dict[str, Any]:
    """Cluster the training windows `x` (n, ...) and return the model as a JSON-able dict.

    The state holds `mean`/`std` (standardisation), `centers` (k, d), `radii` (k,), `threshold`
    and the training score summary; `anomaly_scores(state, x)` applies it.
    """
    x = _flat(x)
    n = x.shape[0]
    k = params["clusters"]
    if n < k:
        raise LearnParamError(
            "clusters", f"{k} clusters need at least {k} training windows, got {n}; use fewer"
        )
    if params["standardize"]:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
    else:
        mean = np.zeros(x.shape[1])
        std = np.ones(x.shape[1])
    z = (x - mean) / std
    rng = np.random.default_rng(params["seed"])
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(N_STARTS):
        centers = _kmeans_plus_plus(z, k, rng)
        centers, assign, inertia = _lloyd(z, centers, params["max_iterations"])
        if best is None or inertia < best[0]:
            best = (inertia, centers, assign)
    assert best is not None
    _, centers, assign = best
    distances = np.sqrt(_squared_distances(z, centers)[np.arange(n), assign])
    radii = np.zeros(k)
    for c in range(k):
        members = distances[assign == c]
        if members.size:
            radii[c] = np.percentile(members, params["radius_percentile"])
    state: dict[str, Any] = {
        "mean": mean.tolist(),
        "std": std.tolist(),
        "centers": centers.tolist(),
        "radii": radii.tolist(),
        "threshold": 0.0,
    }
    scores = anomaly_scores(state, x)
    state["threshold"] = float(np.percentile(scores, params["threshold_percentile"]))
    state["training_scores"] = {
        "min": float(scores.min()),
        "median": float(np.median(scores)),
        "max": float(scores.max()),
    }
    return state


def anomaly_scores(state: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Score of every window: distance to the nearest cluster's edge (negative inside a
    cluster), in standardised feature units; above `state["threshold"]` means anomalous."""
    z = (_flat(x) - np.asarray(state["mean"])) / np.asarray(state["std"])
    centers = np.asarray(state["centers"], dtype=np.float64)
    if z.shape[1] != centers.shape[1]:
        raise LearnParamError(
            "features", f"the model expects {centers.shape[1]} features, got {z.shape[1]}"
        )
    edge = np.sqrt(_squared_distances(z, centers)) - np.asarray(state["radii"])[None, :]
    return edge.min(axis=1)


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], -1)


def _squared_distances(z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    # |z - c|^2 = |z|^2 - 2 z.c + |c|^2, clipped at 0 against rounding: one matrix product.
    d = (z * z).sum(axis=1)[:, None] - 2.0 * z @ centers.T + (centers * centers).sum(axis=1)[None]
    return np.maximum(d, 0.0)


def _kmeans_plus_plus(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = z.shape[0]
    centers = np.empty((k, z.shape[1]))
    centers[0] = z[rng.integers(n)]
    nearest = _squared_distances(z, centers[:1])[:, 0]
    for i in range(1, k):
        total = nearest.sum()
        # All points already on a centre (duplicates): any point will do.
        pick = rng.integers(n) if total <= 0 else rng.choice(n, p=nearest / total)
        centers[i] = z[pick]
        nearest = np.minimum(nearest, _squared_distances(z, centers[i : i + 1])[:, 0])
    return centers


def _lloyd(
    z: np.ndarray, centers: np.ndarray, max_iterations: int
) -> tuple[np.ndarray, np.ndarray, float]:
    k = centers.shape[0]
    assign = np.full(z.shape[0], -1)
    for _ in range(max_iterations):
        d = _squared_distances(z, centers)
        new_assign = d.argmin(axis=1)
        if np.array_equal(new_assign, assign):
            break
        assign = new_assign
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(centers)
        np.add.at(sums, assign, z)
        filled = counts > 0
        # An emptied cluster keeps its old centre rather than collapsing to the origin.
        centers = centers.copy()
        centers[filled] = sums[filled] / counts[filled, None]
    d = _squared_distances(z, centers)
    assign = d.argmin(axis=1)
    inertia = float(d[np.arange(z.shape[0]), assign].sum())
    return centers, assign, inertia


class KMeansAnomaly(LearnBlock):
    """K-means anomaly detection (numpy): the score of a window is its distance to the nearest
    cluster's edge (distance to the centre minus the cluster's radius), in standardised units."""

    name = "anomaly-kmeans"
    title = "Anomaly detection (K-means)"
    description = (
        "Clusters the training windows with K-means; a window far outside every cluster is "
        "anomalous. Train it on normal data only."
    )
    kind = "anomaly"
    params = (
        LearnParam(
            "clusters",
            "integer",
            32,
            "Cluster count",
            "Number of K-means clusters (at most the number of training windows).",
            minimum=1,
            maximum=1024,
        ),
        LearnParam(
            "radius_percentile",
            "number",
            100.0,
            "Cluster radius percentile",
            "A cluster's radius is this percentile of its members' distances to its "
            "centre (100 = the farthest member).",
            minimum=50,
            maximum=100,
        ),
        LearnParam(
            "threshold_percentile",
            "number",
            100.0,
            "Threshold percentile",
            "The anomaly threshold is this percentile of the training windows' scores.",
            minimum=50,
            maximum=100,
        ),
        LearnParam(
            "standardize",
            "boolean",
            True,
            "Standardise features",
            "Scale every feature to zero mean and unit variance over the training set "
            "before clustering, so that no feature dominates the distance.",
        ),
        LearnParam(
            "max_iterations",
            "integer",
            100,
            "Iterations",
            "Largest number of K-means (Lloyd) iterations per start.",
            minimum=1,
            maximum=10000,
        ),
        LearnParam(
            "seed",
            "integer",
            1,
            "Seed",
            "Random seed of the K-means++ starts.",
            minimum=0,
            maximum=2**31 - 1,
        ),
    )

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        """Anomaly detection learns from unlabelled normal data: any shape, any class count."""
