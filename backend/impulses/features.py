"""Features of every window of a dataset version, computed once per (data, input, DSP) and cached
in the blob store for the feature, training and tuner jobs."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.blobs.cache import put_cached, read_cached
from backend.datasets.models import Category, DatasetVersion
from backend.impulses import service
from backend.impulses.models import FeatureSet
from backend.impulses.schemas import ImpulseSpec
from backend.jobs.lifecycle import JobContext, JobFailed


@dataclass
class FeatureData:
    features: np.ndarray  # (windows, *shape)
    labels: list[str | None]
    sample_ids: np.ndarray
    starts_ms: np.ndarray
    categories: list[str]
    cache_hit: bool


def load_features(
    ctx: JobContext,
    db: Session,
    spec: ImpulseSpec,
    data: DatasetVersion,
    impulse_version_id: int | None,
    span: tuple[float, float],
) -> FeatureData:
    """The features of every window of a dataset version, from the cache when it has them."""
    key = service.feature_cache_key(data.fingerprint, spec.model_dump(mode="json"))
    cached = db.scalar(
        select(FeatureSet).where(
            FeatureSet.project_id == data.project_id, FeatureSet.cache_key == key
        )
    )
    if cached is not None:
        with contextlib.suppress(FileNotFoundError):  # else computed and stored again
            raw = read_cached(cached.blob_key)
            ctx.log(f"features from cache ({cached.windows} windows)")
            return unpack(raw, cache_hit=True)
    blocks: list[np.ndarray] = []
    labels: list[str | None] = []
    sample_ids: list[int] = []
    starts: list[np.ndarray] = []
    categories: list[str] = []
    entries = [
        e
        for e in data.entries
        if e["category"] in (Category.training, Category.testing, Category.anomaly)
    ]
    for done, entry in enumerate(entries, start=1):
        values = np.frombuffer(read_cached(entry["values_key"]), dtype="<f4").reshape(
            entry["length"], entry["axes"]
        )
        _, window_starts, features = service.features_of(values, entry["interval_ms"], spec)
        if len(features):
            blocks.append(features)
            labels += [entry["label"]] * len(features)
            sample_ids += [entry["sample_id"]] * len(features)
            starts.append(window_starts)
            categories += [entry["category"]] * len(features)
        ctx.progress(
            span[0] + (span[1] - span[0]) * done / len(entries),
            f"features: {done}/{len(entries)} samples",
        )
    if not blocks:
        raise JobFailed("no sample gave a single window: shorten the window or turn on zero_pad")
    result = FeatureData(
        features=np.concatenate(blocks).astype(np.float32),
        labels=labels,
        sample_ids=np.asarray(sample_ids, dtype=np.int64),
        starts_ms=np.concatenate(starts).astype(np.float64),
        categories=categories,
        cache_hit=False,
    )
    blob_key = f"projects/{data.project_id}/features/{key}.npz"
    put_cached(blob_key, pack(result))
    if cached is None:
        try:
            # A savepoint: if another job recorded the same features first (they ran at the
            # same time; both wrote the same blob, the key names the data and the spec), only
            # this insert is undone and theirs is kept.
            with db.begin_nested():
                db.add(
                    FeatureSet(
                        project_id=data.project_id,
                        cache_key=key,
                        dataset_version_id=data.id,
                        impulse_version_id=impulse_version_id,
                        blob_key=blob_key,
                        windows=len(result.features),
                        feature_shape=list(result.features.shape[1:]),
                    )  # fmt: skip
                )
        except IntegrityError:
            pass
        db.commit()
    ctx.log(f"computed features of {len(result.features)} windows")
    return result


def pack(data: FeatureData) -> bytes:
    """The features as one .npz file (labels and categories as JSON)."""
    out = io.BytesIO()
    np.savez(
        out, features=data.features, sample_ids=data.sample_ids, starts_ms=data.starts_ms,
        labels=np.asarray(json.dumps(data.labels)),
        categories=np.asarray(json.dumps(data.categories)),
    )  # fmt: skip
    return out.getvalue()


def unpack(raw: bytes, *, cache_hit: bool) -> FeatureData:
    with np.load(io.BytesIO(raw)) as archive:
        return FeatureData(
            features=archive["features"],
            labels=json.loads(str(archive["labels"])),
            sample_ids=archive["sample_ids"],
            starts_ms=archive["starts_ms"],
            categories=json.loads(str(archive["categories"])),
            cache_hit=cache_hit,
        )
