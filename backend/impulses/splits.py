"""How a training run splits its training windows into training and validation: by sample, per
label, and with warnings that name the counts when the data is small."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from workers.learn.params import SMALL_DATA_WINDOWS


def split_by_sample(
    sample_ids: np.ndarray,
    fraction: float,
    seed: int,
    labels: Sequence[str | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Training/validation masks that keep each sample's windows together (no leakage).

    With `labels` (one per window) the samples are drawn per label, so that every label with
    two samples or more keeps at least one in training and gives at least one to validation,
    and a label with a single sample keeps it in training."""
    unique, first = np.unique(sample_ids, return_index=True)
    rng = np.random.default_rng(seed)
    if labels is None:
        groups = [unique]
    else:
        of_sample = np.asarray([str(labels[i]) for i in first.tolist()])
        groups = [unique[of_sample == label] for label in sorted(set(of_sample.tolist()))]
    held: list[int] = []
    for members in groups:
        shuffled = rng.permutation(members)
        held += shuffled[: _held_out(len(shuffled), fraction)].tolist()
    val = np.isin(sample_ids, held)
    return ~val, val


def _held_out(samples: int, fraction: float) -> int:
    """Validation samples of a group: its share, but never all of it nor (if it can) none."""
    if fraction <= 0 or samples < 2:
        return 0
    return min(max(int(round(samples * fraction)), 1), samples - 1)


def split_warnings(
    sample_ids: np.ndarray,
    labels: Sequence[str | None] | None,
    val_mask: np.ndarray,
    fraction: float,
) -> list[str]:
    """What a user should know about a split: the counts when there are fewer than
    SMALL_DATA_WINDOWS training windows, and every label too rare to be validated."""
    warnings: list[str] = []
    available = _samples_by_label(sample_ids, labels, np.ones(len(sample_ids), dtype=bool))
    validation = _samples_by_label(sample_ids, labels, val_mask)
    windows = len(sample_ids)
    if windows < SMALL_DATA_WINDOWS:
        samples = sum(available.values())
        per_label = (
            " (" + ", ".join(f"'{label}' {count}" for label, count in available.items()) + ")"
            if labels is not None
            else ""
        )
        if fraction <= 0:
            held = (
                "no validation split: the model trains on all of them and early stopping "
                "watches the training loss (set a validation split to hold some out)"
            )
        elif not validation:
            held = "validation holds no sample (no label has two), so nothing is validated"
        else:
            held = (
                f"validation holds {_validation_counts(validation, available, labels)} "
                f"({int(val_mask.sum())} windows), so its figures are rough"
            )
        warnings.append(
            f"only {windows} training windows from {samples} samples{per_label}: {held}"
        )
    if labels is not None and fraction > 0:
        warnings += [
            f"class '{label}' has only 1 training sample: it stays in training, so validation "
            f"cannot score it; record more samples of '{label}'"
            for label, count in available.items()
            if count == 1
        ]
    return warnings


def _samples_by_label(
    sample_ids: np.ndarray, labels: Sequence[str | None] | None, mask: np.ndarray
) -> dict[str | None, int]:
    """Distinct samples per label among the masked windows, labels in sorted order."""
    pairs = {
        (int(sample), None if labels is None else labels[i])
        for i, sample in enumerate(sample_ids.tolist())
        if mask[i]
    }
    counts = Counter(label for _, label in pairs)
    return {label: counts[label] for label in sorted(counts, key=str)}


def _validation_counts(
    validation: dict[str | None, int],
    available: dict[str | None, int],
    labels: Sequence[str | None] | None,
) -> str:
    """'1 sample per class', or each label's count when they differ."""
    if labels is None:
        count = sum(validation.values())
        return f"{count} sample{'s' if count != 1 else ''}"
    every = [validation.get(label, 0) for label in available]
    if len(set(every)) == 1:
        return f"{every[0]} sample{'s' if every[0] != 1 else ''} per class"
    return "samples " + ", ".join(f"'{label}' {validation.get(label, 0)}" for label in available)
