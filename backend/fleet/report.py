"""Drift reports: a device's (or a model's whole fleet's) telemetry against the training
windows' features of the run it runs, with the reasons for an alert in words."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.blobs import get_blob_store
from backend.core.config import get_settings
from backend.datasets.models import Category, DatasetVersion
from backend.fleet import drift
from backend.fleet.models import Device, Telemetry
from backend.fleet.schemas import DriftOut, FeatureDriftOut, LabelShare, ScorePoint
from backend.impulses.features import unpack
from backend.impulses.models import FeatureSet, ImpulseVersion, TrainingRun
from backend.impulses.schemas import ImpulseSpec
from backend.impulses.service import feature_cache_key, features_of
from workers import dsp

# Fewer items than this say too little about a distribution to raise an alert.
MIN_ITEMS = 20
# The newest items a report reads per device, so that a report's cost stays bounded.
MAX_ITEMS = 20_000
# The newest raw windows a report runs through the impulse's DSP.
MAX_RAW_WINDOWS = 2_000


@dataclass
class Reference:
    """The training windows of a run: their flattened features, label counts, feature names."""

    features: np.ndarray  # windows x features
    labels: dict[str, float]
    names: list[str]
    spec: ImpulseSpec
    axes: int


def feature_names(spec: ImpulseSpec, axis_names: list[str], width: int) -> list[str]:
    """The DSP blocks' names of the features ("accX rms"), in the flattened order the impulse
    gives them; "feature i" where the blocks cannot say."""
    window_samples = int(round(spec.input.window_ms * spec.input.frequency_hz / 1000.0))
    names: list[str] = []
    try:
        for block in spec.dsp:
            names += dsp.get_block(block.block).feature_names(
                window_samples, axis_names, spec.input.frequency_hz, block.params
            )
    except dsp.DspParamError:
        names = []
    return names if len(names) == width else [f"feature {i}" for i in range(width)]


@lru_cache(maxsize=8)
def _training_windows(blob_key: str) -> tuple[np.ndarray, dict[str, float]]:
    # Keyed by the blob, which names its content: a cached entry never goes stale.
    data = unpack(get_blob_store().get(blob_key), cache_hit=True)
    training = np.asarray([c == Category.training for c in data.categories], dtype=bool)
    features = data.features[training].reshape(int(training.sum()), -1).astype(np.float64)
    labels = Counter(
        label for label, keep in zip(data.labels, training, strict=True) if keep and label
    )
    return features, {k: float(v) for k, v in labels.items()}


def load_reference(db: Session, run: TrainingRun) -> Reference | None:
    """The run's training windows from the feature cache its training filled, or None when
    that cache is gone."""
    version = db.get(ImpulseVersion, run.impulse_version_id)
    data = db.get(DatasetVersion, run.dataset_version_id)
    if version is None or data is None:
        return None
    spec = ImpulseSpec.model_validate(version.spec)
    cached = db.scalar(
        select(FeatureSet).where(
            FeatureSet.project_id == run.project_id,
            FeatureSet.cache_key
            == feature_cache_key(data.fingerprint, spec.model_dump(mode="json")),
        )
    )
    if cached is None or not get_blob_store().exists(cached.blob_key):
        return None
    features, labels = _training_windows(cached.blob_key)
    axes = [s["name"] for s in data.entries[0]["sensors"]] if data.entries else []
    return Reference(
        features=features, labels=labels, names=feature_names(spec, axes, features.shape[1]),
        spec=spec, axes=len(axes),
    )  # fmt: skip


def raw_window_features(db: Session, device_ids: list[int], reference: Reference) -> np.ndarray:
    """The features of the raw windows the devices sampled, through the impulse's own input
    block and DSP (windows x features); windows of another axis count or too short are left out."""
    rows = db.execute(
        select(Telemetry.raw_values, Telemetry.raw_interval_ms)
        .where(Telemetry.device_id.in_(device_ids), Telemetry.raw_values.is_not(None))
        .order_by(Telemetry.time.desc())
        .limit(MAX_RAW_WINDOWS)
    ).all()
    width = reference.features.shape[1]
    blocks = []
    for values, interval_ms in rows:
        array = np.asarray(values, dtype=np.float32)
        if interval_ms is None or array.ndim != 2 or array.shape[1] != reference.axes:
            continue
        try:
            _, _, features = features_of(array, float(interval_ms), reference.spec)
        except ValueError:  # windowing or DSP refusing this window's length or rate
            continue
        if len(features):
            blocks.append(features.reshape(len(features), -1))
    usable = [b for b in blocks if b.shape[1] == width]
    return np.concatenate(usable).astype(np.float64) if usable else np.zeros((0, width))


@dataclass
class FieldData:
    means: list[list[float]]
    counts: list[int]
    labels: list[str | None]
    scores: list[float]
    times: list[datetime]


def field_data(db: Session, device_ids: list[int]) -> FieldData:
    """The newest telemetry of the given devices."""
    rows = db.execute(
        select(
            Telemetry.feature_means,
            Telemetry.count,
            Telemetry.label,
            Telemetry.top_score,
            Telemetry.time,
        )
        .where(Telemetry.device_id.in_(device_ids))
        .order_by(Telemetry.time.desc())
        .limit(MAX_ITEMS * len(device_ids))
    ).all()
    return FieldData(
        means=[r[0] for r in rows], counts=[r[1] for r in rows], labels=[r[2] for r in rows],
        scores=[r[3] for r in rows], times=[r[4] for r in rows],
    )  # fmt: skip


def _scores(data: FieldData) -> tuple[list[ScorePoint], float | None]:
    by_day: dict[str, list[float]] = defaultdict(list)
    for time, score in zip(data.times, data.scores, strict=True):
        by_day[time.date().isoformat()].append(score)
    points = [
        ScorePoint(day=day, mean_top_score=float(np.mean(s)), items=len(s))
        for day, s in sorted(by_day.items())
    ]
    if not data.times:
        return points, None
    origin = min(data.times)
    days = np.asarray([(t - origin).total_seconds() / 86400 for t in data.times])
    return points, drift.trend_per_day(days, np.asarray(data.scores))


def _labels(reference: Reference, data: FieldData) -> tuple[float | None, list[LabelShare]]:
    reported: Counter[str] = Counter()
    for label, count in zip(data.labels, data.counts, strict=True):
        if label:
            reported[label] += count
    if not reported or not reference.labels:
        return None, []
    ref_total, field_total = sum(reference.labels.values()), sum(reported.values())
    shares = [
        LabelShare(
            label=label,
            training=reference.labels.get(label, 0.0) / ref_total,
            field=reported.get(label, 0) / field_total,
        )
        for label in sorted(set(reference.labels) | set(reported))
    ]
    return drift.label_psi(reference.labels, dict(reported)), shares


def _feature_outs(
    stats: list[drift.FeatureDrift], names: list[str], threshold: float
) -> list[FeatureDriftOut]:
    return [
        FeatureDriftOut(
            index=s.index,
            name=names[s.index],
            psi=s.psi,
            ks=s.ks,
            reference_mean=s.reference_mean,
            field_mean=s.field_mean,
            drifted=s.psi > threshold,
        )  # fmt: skip
        for s in stats
    ]


def _feature_reasons(features: list[FeatureDriftOut], threshold: float, source: str) -> list[str]:
    return [
        f"{source}{f.name}: PSI {f.psi:.2f} is above {threshold:g}; its mean in the field is "
        f"{f.field_mean:.3g} against {f.reference_mean:.3g} in training (KS {f.ks:.2f})"
        for f in sorted(features, key=lambda f: -f.psi)
        if f.drifted
    ]


def report(
    db: Session, *, run: TrainingRun | None, devices: list[Device], device: Device | None
) -> DriftOut:
    """Drift of `devices`' telemetry against `run`'s training windows (`device` when the
    report is one device's)."""
    settings = get_settings()
    data = field_data(db, [d.id for d in devices]) if devices else FieldData([], [], [], [], [])
    scores, trend = _scores(data)
    base = DriftOut(
        device_id=device.id if device else None, device_name=device.name if device else None,
        training_run_id=run.id if run else None, items=len(data.means),
        windows=sum(data.counts), reference_windows=0, status="no_data", alert=False,
        reasons=[], features=[], raw_windows=0, raw_features=[], label_psi=None, labels=[],
        score_trend_per_day=trend,
        scores=scores,
    )  # fmt: skip
    reference = load_reference(db, run) if run else None
    if reference is None or len(reference.features) == 0:
        why = (
            "the device runs no known training run"
            if run is None
            else f"the training windows of run {run.id} are not in the feature cache: "
            "generate the impulse's features for its dataset version"
        )
        return base.model_copy(update={"status": "no_reference", "reasons": [why]})
    assert run is not None  # a reference is a run's
    base.reference_windows = len(reference.features)
    if len(data.means) < MIN_ITEMS:
        why = f"{len(data.means)} telemetry items so far; drift is judged from {MIN_ITEMS}"
        return base.model_copy(update={"reasons": [why]})
    width = reference.features.shape[1]
    means = [m for m in data.means if len(m) == width]
    if len(means) < MIN_ITEMS:
        why = f"the devices report {len(data.means[0])} features, run {run.id} has {width}"
        return base.model_copy(update={"status": "no_reference", "reasons": [why]})
    counts = np.asarray(
        [c for m, c in zip(data.means, data.counts, strict=True) if len(m) == width]
    )
    stats = drift.feature_drift(reference.features, np.asarray(means, dtype=np.float64), counts)
    threshold = settings.fleet_feature_psi_alert
    features = _feature_outs(stats, reference.names, threshold)
    reasons = _feature_reasons(features, threshold, "")
    raw = raw_window_features(db, [d.id for d in devices], reference)
    raw_features: list[FeatureDriftOut] = []
    if len(raw) >= MIN_ITEMS:
        raw_stats = drift.feature_drift(reference.features, raw, np.ones(len(raw)))
        raw_features = _feature_outs(raw_stats, reference.names, threshold)
        reasons += _feature_reasons(raw_features, threshold, "sampled raw windows, ")
    label_psi, labels = _labels(reference, data)
    if label_psi is not None and label_psi > settings.fleet_label_psi_alert:
        moved = max(labels, key=lambda s: abs(s.field - s.training))
        reasons.append(
            f"labels: PSI {label_psi:.2f} is above {settings.fleet_label_psi_alert:g}; "
            f"'{moved.label}' is {moved.field:.0%} of field windows against {moved.training:.0%} "
            "in training"
        )
    alert = bool(reasons)
    return base.model_copy(
        update={
            "status": "drift" if alert else "ok",
            "alert": alert,
            "reasons": reasons,
            "features": features,
            "raw_windows": len(raw),
            "raw_features": raw_features,
            "label_psi": label_psi,
            "labels": labels,
        }
    )
