"""The K-means anomaly block in C (ts_anomaly.h/.c), one generator for the libraries and firmware.

The state is workers.learn.kmeans' JSON (`mean`, `std`, `centers`, `radii`, `threshold`); the C
computes what `anomaly_scores` does, in float32: standardise the features once, then the
distance to the nearest cluster's edge (negative inside a cluster).

    ts_anomaly.h   TS_ANOMALY_CLUSTERS, TS_ANOMALY_FEATURES, ts_anomaly_threshold,
                   float ts_anomaly_score(const float *features)
    ts_anomaly.c   the state as const arrays (flash) and the scoring function; one static
                   buffer of TS_ANOMALY_FEATURES floats (RAM) for the standardised features
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.dsp.c_config import c_float

ANOMALY_FILES = ("ts_anomaly.h", "ts_anomaly.c")


class AnomalyStateError(ValueError):
    """The anomaly state does not fit the impulse's features, or is not a K-means state."""


@dataclass(frozen=True)
class AnomalyBlock:
    """What the generated anomaly block holds."""

    clusters: int
    features: int
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "block": "anomaly-kmeans",
            "clusters": self.clusters,
            "features": self.features,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class _State:
    mean: np.ndarray
    std: np.ndarray
    centers: np.ndarray
    radii: np.ndarray
    threshold: float


def _check(anomaly: Mapping[str, Any], features: int) -> _State:
    try:
        centers = np.asarray(anomaly["centers"], dtype=np.float64)
        mean = np.asarray(anomaly["mean"], dtype=np.float64).ravel()
        std = np.asarray(anomaly["std"], dtype=np.float64).ravel()
        radii = np.asarray(anomaly["radii"], dtype=np.float64).ravel()
        threshold = float(anomaly.get("threshold", 0.0))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnomalyStateError(f"not a K-means anomaly state: {exc}") from None
    if centers.ndim != 2 or centers.shape[0] == 0:
        raise AnomalyStateError("the anomaly state has no cluster centres")
    if centers.shape[1] != features or mean.size != features:
        raise AnomalyStateError(
            f"the anomaly block expects {centers.shape[1]} features; the DSP gives {features}"
        )
    if std.size != features or radii.size != centers.shape[0]:
        raise AnomalyStateError("the anomaly state's mean/std/radii do not match its centers")
    values = np.concatenate([centers.ravel(), mean, std, radii, [threshold]])
    # The C holds float32: a value beyond its range would become infinity.
    if not np.all(np.isfinite(values.astype(np.float32))) or not np.all(std > 0):
        raise AnomalyStateError("the anomaly state holds non-finite values or a zero std")
    return _State(mean, std, centers, radii, threshold)


def anomaly_block(anomaly: Mapping[str, Any], features: int) -> AnomalyBlock:
    """Checks `anomaly` against the feature count; raises AnomalyStateError naming the problem."""
    state = _check(anomaly, features)
    return AnomalyBlock(state.centers.shape[0], features, state.threshold)


def _c_array(values: np.ndarray, per_line: int = 6) -> str:
    items = [c_float(float(v)) for v in np.asarray(values, dtype=np.float64).ravel()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join("    " + line for line in lines)


_HEADER = """\
/* ts_anomaly.h - the impulse's K-means anomaly block, written by TinyStudio.
 *
 * ts_anomaly_score(features) is the distance of the standardised features to the nearest
 * cluster's edge (negative inside a cluster, in standardised feature units); a score above
 * ts_anomaly_threshold means the window is unlike the training data. `features` are the
 * TS_ANOMALY_FEATURES values the impulse's DSP blocks give (the model's input). Not reentrant:
 * it standardises into one static buffer.
 */
#ifndef TS_ANOMALY_H
#define TS_ANOMALY_H

#ifdef __cplusplus
extern "C" {{
#endif

#define TS_ANOMALY_CLUSTERS {clusters}
#define TS_ANOMALY_FEATURES {features}

extern const float ts_anomaly_threshold;

float ts_anomaly_score(const float *features);

#ifdef __cplusplus
}}
#endif

#endif /* TS_ANOMALY_H */
"""

_SOURCE = """\
/* ts_anomaly.c - the impulse's K-means anomaly block ({clusters} clusters, {features} features),
 * written by TinyStudio. Computed in float32. */
#include "ts_anomaly.h"

#include <math.h>

static const float ts_anomaly_mean[TS_ANOMALY_FEATURES] = {{
{mean}
}};
static const float ts_anomaly_std[TS_ANOMALY_FEATURES] = {{
{std}
}};
static const float ts_anomaly_centers[TS_ANOMALY_CLUSTERS * TS_ANOMALY_FEATURES] = {{
{centers}
}};
static const float ts_anomaly_radii[TS_ANOMALY_CLUSTERS] = {{
{radii}
}};
const float ts_anomaly_threshold = {threshold};

/* The standardised features: computed once per window rather than once per cluster. */
static float ts_anomaly_z[TS_ANOMALY_FEATURES];

float ts_anomaly_score(const float *features)
{{
    for (int i = 0; i < TS_ANOMALY_FEATURES; i++) {{
        ts_anomaly_z[i] = (features[i] - ts_anomaly_mean[i]) / ts_anomaly_std[i];
    }}
    float best = INFINITY;
    for (int c = 0; c < TS_ANOMALY_CLUSTERS; c++) {{
        const float *center = &ts_anomaly_centers[c * TS_ANOMALY_FEATURES];
        float d2 = 0.0f;
        for (int i = 0; i < TS_ANOMALY_FEATURES; i++) {{
            const float d = ts_anomaly_z[i] - center[i];
            d2 += d * d;
        }}
        const float edge = sqrtf(d2) - ts_anomaly_radii[c];
        if (edge < best) {{
            best = edge;
        }}
    }}
    return best;
}}
"""


def write_anomaly(out_dir: Path, anomaly: Mapping[str, Any], *, features: int) -> AnomalyBlock:
    """Writes ts_anomaly.h/.c of the K-means state `anomaly` into out_dir.

    `features` is the impulse's feature count (the DSP glue's output); raises AnomalyStateError
    when the state does not match it.
    """
    state = _check(anomaly, features)
    block = AnomalyBlock(state.centers.shape[0], features, state.threshold)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {"clusters": block.clusters, "features": features}
    (out_dir / "ts_anomaly.h").write_text(_HEADER.format(**sizes))
    (out_dir / "ts_anomaly.c").write_text(
        _SOURCE.format(
            **sizes,
            mean=_c_array(state.mean),
            std=_c_array(state.std),
            centers=_c_array(state.centers),
            radii=_c_array(state.radii),
            threshold=c_float(state.threshold),
        )
    )
    return block
