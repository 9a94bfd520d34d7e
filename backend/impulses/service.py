"""Impulse operations: validation against the blocks and the data, versions, DSP preview and
the feature computation shared by the feature and training jobs."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.errors import ApiError, conflict, not_found
from backend.datasets.models import Sample
from backend.impulses.models import Impulse, ImpulseVersion
from backend.impulses.schemas import ImpulseShapes, ImpulseSpec
from backend.projects import service as projects
from workers import dsp, learn
from workers.windowing import make_windows_with_starts, window_count


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_impulse", f"{field}: {message}", field=field)


@dataclass
class DataFacts:
    """What the project's live, enabled samples say about a design."""

    axes: int | None
    max_duration_ms: float
    max_rate_hz: float
    labels: list[str]


def data_facts(*, db: Session, project_id: int) -> DataFacts:
    rows = db.execute(
        select(Sample.axes, Sample.length, Sample.interval_ms, Sample.label).where(
            Sample.project_id == project_id, Sample.deleted_at.is_(None), Sample.enabled.is_(True)
        )
    ).all()
    if not rows:
        return DataFacts(axes=None, max_duration_ms=0.0, max_rate_hz=0.0, labels=[])
    axes = Counter(r.axes for r in rows).most_common(1)[0][0]
    return DataFacts(
        axes=axes,
        max_duration_ms=max(r.length * r.interval_ms for r in rows),
        max_rate_hz=max(1000.0 / r.interval_ms for r in rows),
        labels=sorted({r.label for r in rows if r.label is not None}),
    )


def shapes(spec: ImpulseSpec, axes: int, n_classes: int) -> ImpulseShapes:
    """Checks every block against its schema and the one before it; the shapes between them."""
    window_samples = int(round(spec.input.window_ms * spec.input.frequency_hz / 1000.0))
    if window_samples < 1:
        raise invalid("input.window_ms", "the window holds no sample at this frequency")
    dsp_shapes = []
    for index, block_spec in enumerate(spec.dsp):
        where = f"dsp[{index}]"
        try:
            block = dsp.get_block(block_spec.block)
        except dsp.DspParamError as exc:
            raise invalid(f"{where}.block", exc.message) from None
        try:
            params = block.validate_params(block_spec.params)
            shape = block.output_shape(window_samples, axes, spec.input.frequency_hz, params)
        except dsp.DspParamError as exc:
            raise invalid(f"{where}.params.{exc.field}", exc.message) from None
        block_spec.params = params
        dsp_shapes.append([int(s) for s in shape])
    learn_input = (
        dsp_shapes[0] if len(dsp_shapes) == 1 else [int(sum(np.prod(s) for s in dsp_shapes))]
    )
    for index, block_spec in enumerate(spec.learn):
        where = f"learn[{index}]"
        if block_spec.block not in learn.LEARN_BLOCKS:
            known = ", ".join(sorted(learn.LEARN_BLOCKS))
            raise invalid(
                f"{where}.block", f"unknown learning block {block_spec.block!r} (known: {known})"
            )
        try:
            block_spec.params = learn.LEARN_BLOCKS[block_spec.block].validate_params(
                block_spec.params, tuple(learn_input), max(n_classes, 2)
            )
        except learn.LearnParamError as exc:
            raise invalid(f"{where}.params.{exc.field}", exc.message) from None
    return ImpulseShapes(
        window_samples=window_samples,
        axes=axes,
        dsp_output_shapes=dsp_shapes,
        learn_input_shape=learn_input,
    )


def validate(spec: ImpulseSpec, facts: DataFacts) -> ImpulseShapes | None:
    """Validates a design; against the data too when the project has some."""
    if spec.input.stride_ms > spec.input.window_ms * 10:
        raise invalid("input.stride_ms", "the stride is more than ten windows long")
    if facts.axes is None:
        # No data yet: check the blocks with one axis; the data is checked when jobs start.
        shapes(spec, 1, 2)
        return None
    if not spec.input.zero_pad and facts.max_duration_ms < spec.input.window_ms:
        raise invalid(
            "input.window_ms",
            f"the window ({spec.input.window_ms:g} ms) is longer than every sample (the longest "
            f"is {facts.max_duration_ms:g} ms): shorten it or turn on zero_pad",
        )
    if spec.input.frequency_hz > facts.max_rate_hz * 1.001:
        raise invalid(
            "input.frequency_hz",
            f"the data is sampled at {facts.max_rate_hz:g} Hz at most; choose a frequency of "
            f"{facts.max_rate_hz:g} Hz or less",
        )
    return shapes(spec, facts.axes, len(facts.labels))


def create(*, db: Session, project_id: int, name: str, spec: ImpulseSpec, user: User) -> Impulse:
    validate(spec, data_facts(db=db, project_id=project_id))
    impulse = Impulse(project_id=project_id, name=name.strip(), current_version=1)
    db.add(impulse)
    db.flush()
    db.add(
        ImpulseVersion(
            impulse_id=impulse.id,
            version=1,
            spec=spec.model_dump(mode="json"),
            created_by_id=user.id,
        )  # fmt: skip
    )
    projects.record(
        db=db, project_id=project_id, action="impulse.created", user=user, impulse_id=impulse.id
    )
    return impulse


def save(
    *,
    db: Session,
    impulse: Impulse,
    spec: ImpulseSpec,
    name: str | None,
    base_version: int | None,
    user: User,
) -> Impulse:
    """Saves a new version of an impulse; a save based on an old version is refused.

    The version is taken with one conditional UPDATE, so of two saves of the same version only
    one wins; a save naming no version always gets the next one."""
    if base_version is not None and base_version != impulse.current_version:
        raise _changed(impulse.current_version, base_version)
    validate(spec, data_facts(db=db, project_id=impulse.project_id))
    bump = (
        update(Impulse)
        .where(Impulse.id == impulse.id)
        .values(current_version=Impulse.current_version + 1)
        .returning(Impulse.current_version)
        .execution_options(synchronize_session=False)
    )
    if base_version is not None:
        bump = bump.where(Impulse.current_version == base_version)
    if name:
        bump = bump.values(name=name.strip())
    version = db.scalar(bump)
    if version is None:
        current = db.scalar(select(Impulse.current_version).where(Impulse.id == impulse.id))
        if current is None:
            raise not_found("impulse")
        raise _changed(current, base_version)
    db.refresh(impulse)
    db.add(
        ImpulseVersion(
            impulse_id=impulse.id,
            version=version,
            spec=spec.model_dump(mode="json"),
            created_by_id=user.id,
        )  # fmt: skip
    )
    projects.record(
        db=db, project_id=impulse.project_id, action="impulse.saved", user=user,
        impulse_id=impulse.id, version=version,
    )  # fmt: skip
    return impulse


def _changed(current: int, edited: int | None) -> ApiError:
    return conflict(
        "impulse_changed",
        f"the impulse was saved by someone else (now version {current}, you edited version "
        f"{edited}); reload it and apply your change again",
        current_version=current,
    )


def get(*, db: Session, project_id: int, impulse_id: int) -> Impulse:
    """Gets an impulse of a project by its id."""
    impulse = db.get(Impulse, impulse_id)
    if impulse is None or impulse.project_id != project_id:
        raise not_found("impulse")
    return impulse


def current_version(*, db: Session, impulse: Impulse) -> ImpulseVersion:
    return db.scalars(
        select(ImpulseVersion).where(
            ImpulseVersion.impulse_id == impulse.id,
            ImpulseVersion.version == impulse.current_version,
        )
    ).one()


def feature_cache_key(dataset_fingerprint: str, spec: dict[str, Any]) -> str:
    """Features depend on the data and on the input (padding included) and DSP blocks, nothing
    else."""
    relevant = {"input": spec["input"], "dsp": spec["dsp"]}
    return hashlib.sha256(
        (dataset_fingerprint + json.dumps(relevant, sort_keys=True)).encode()
    ).hexdigest()


def features_of(
    values: np.ndarray, interval_ms: float, spec: ImpulseSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of one sample, their start times and their features (one row per window)."""
    windows, starts = make_windows_with_starts(
        values,
        interval_ms,
        window_ms=spec.input.window_ms,
        stride_ms=spec.input.stride_ms,
        frequency_hz=spec.input.frequency_hz,
        zero_pad=spec.input.zero_pad,
        padding=spec.input.padding,
    )
    if len(windows) == 0:
        return windows, starts, np.zeros((0, 0), dtype=np.float32)
    parts = []
    for block_spec in spec.dsp:
        block = dsp.get_block(block_spec.block)
        out = block.process(windows, spec.input.frequency_hz, block_spec.params)
        parts.append(out)
    if len(parts) == 1:
        return windows, starts, parts[0].astype(np.float32)
    flat = [p.reshape(len(p), -1) for p in parts]
    return windows, starts, np.concatenate(flat, axis=1).astype(np.float32)


def count_windows(length: int, interval_ms: float, spec: ImpulseSpec) -> int:
    return window_count(
        length,
        interval_ms,
        window_ms=spec.input.window_ms,
        stride_ms=spec.input.stride_ms,
        frequency_hz=spec.input.frequency_hz,
        zero_pad=spec.input.zero_pad,
    )
