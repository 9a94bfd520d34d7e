"""Undoing a change to many samples' labels, categories or enabled flags: each changed sample's
state before the change is answered with the version the change gave it, and a revert puts
those states back only while every one of those samples is still at that version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.errors import bad_request, conflict, not_found
from backend.datasets.formats import UploadError, normalize_label
from backend.datasets.models import Category, Sample
from backend.datasets.schemas import PreviousState
from backend.projects import service as projects


def _state(sample: Sample) -> PreviousState:
    return PreviousState(
        id=sample.id, version=sample.version, label=sample.label,
        category=Category(sample.category), enabled=sample.enabled,
    )  # fmt: skip


def _same(a: PreviousState, b: PreviousState) -> bool:
    return (a.label, a.category, a.enabled) == (b.label, b.category, b.enabled)


def apply(
    *, db: Session, samples: Sequence[Sample], change: Callable[[Sample], object]
) -> list[PreviousState]:
    """Runs `change` on each sample and flushes; answers the state before the change of the
    samples it really changed, each with the version the change gave it."""
    before = {sample.id: _state(sample) for sample in samples}
    for sample in samples:
        change(sample)
    db.flush()
    previous = []
    for sample in samples:
        if not _same(before[sample.id], _state(sample)):
            previous.append(before[sample.id].model_copy(update={"version": sample.version}))
    return previous


def revert(*, db: Session, project_id: int, states: Iterable[PreviousState], user: User) -> int:
    """Puts back the label, category and enabled flag of each sample, all or none: a sample
    changed since (its version moved on, or it went to the trash) refuses the whole revert."""
    wanted = {state.id: state for state in states}
    for state in wanted.values():
        if state.label is not None:
            # States come back from the browser: a label is checked as any typed label is.
            try:
                state.label = normalize_label(state.label)
            except UploadError as exc:
                raise bad_request("invalid_label", exc.message, field="label") from None
    samples = list(
        db.scalars(select(Sample).where(Sample.project_id == project_id, Sample.id.in_(wanted)))
    )
    missing = set(wanted) - {s.id for s in samples}
    if missing:
        raise not_found(f"samples {sorted(missing)[:10]}", code="sample_not_found")
    moved_on = sorted(
        s.id for s in samples if s.version != wanted[s.id].version or s.deleted_at is not None
    )
    if moved_on:
        which = (
            f"sample {moved_on[0]}"
            if len(moved_on) == 1
            else f"{len(moved_on)} of these {len(samples)} samples (samples "
            f"{', '.join(map(str, moved_on[:10]))}{', …' if len(moved_on) > 10 else ''})"
        )
        raise conflict(
            "samples_changed",
            f"{which} changed since, so nothing was undone",
            sample_ids=moved_on,
        )
    for sample in samples:
        state = wanted[sample.id]
        sample.label, sample.category, sample.enabled = state.label, state.category, state.enabled
    projects.record(
        db=db, project_id=project_id, action="samples.reverted", user=user, count=len(samples)
    )
    return len(samples)
