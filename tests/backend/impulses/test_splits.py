"""The training/validation split of a run: whole samples, drawn per label so that no class loses
its training samples, and warnings that name the counts on small data."""

from __future__ import annotations

import numpy as np
import pytest

from backend.impulses.splits import SMALL_DATA_WINDOWS, split_by_sample, split_warnings


def _windows(samples: dict[str, int], per_sample: int = 4) -> tuple[np.ndarray, list[str]]:
    """Window sample ids and labels for `samples[label]` samples of each label."""
    ids: list[int] = []
    labels: list[str] = []
    for label, count in samples.items():
        for _ in range(count):
            sample = len(ids) // per_sample + 1
            ids += [sample] * per_sample
            labels += [label] * per_sample
    return np.asarray(ids), labels


def _samples(ids: np.ndarray, labels: list[str], mask: np.ndarray) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for sample, label, chosen in zip(ids.tolist(), labels, mask.tolist(), strict=True):
        if chosen:
            out.setdefault(label, set()).add(sample)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_every_class_keeps_training_samples_and_gets_validation_ones(seed: int) -> None:
    # Unbalanced and tiny: a plain draw of 20 % of 12 samples could take both of 'b'.
    ids, labels = _windows({"a": 8, "b": 2, "c": 1, "d": 1})
    fit, val = split_by_sample(ids, 0.2, seed, labels)
    assert (fit ^ val).all()
    training, validation = _samples(ids, labels, fit), _samples(ids, labels, val)
    assert {k: len(v) for k, v in training.items()} == {"a": 6, "b": 1, "c": 1, "d": 1}
    assert {k: len(v) for k, v in validation.items()} == {"a": 2, "b": 1}
    for label in "ab":
        assert not training[label] & validation[label]  # windows of a sample stay together


def test_the_split_is_drawn_with_the_seed() -> None:
    ids, labels = _windows({"a": 10, "b": 10})
    first = split_by_sample(ids, 0.3, 4, labels)[1]
    assert np.array_equal(first, split_by_sample(ids, 0.3, 4, labels)[1])
    assert any(not np.array_equal(first, split_by_sample(ids, 0.3, s, labels)[1]) for s in range(5))


def test_no_validation_split_trains_on_everything() -> None:
    ids, labels = _windows({"a": 3, "b": 3})
    for split_labels in (labels, None):
        fit, val = split_by_sample(ids, 0.0, 1, split_labels)
        assert fit.all() and not val.any()


def test_without_labels_whole_samples_are_drawn_as_one_group() -> None:
    ids = np.repeat(np.arange(10), 3)
    fit, val = split_by_sample(ids, 0.2, 2)
    assert len(set(ids[val].tolist())) == 2 and len(set(ids[fit].tolist())) == 8


def test_small_data_warning_names_the_counts() -> None:
    ids, labels = _windows({"a": 6, "b": 3, "c": 3})
    fit, val = split_by_sample(ids, 0.2, 1, labels)
    warnings = split_warnings(ids, labels, val, 0.2)
    assert warnings == [
        "only 48 training windows from 12 samples ('a' 6, 'b' 3, 'c' 3): validation holds "
        "1 sample per class (12 windows), so its figures are rough"
    ]


def test_a_class_with_one_sample_is_named_whatever_the_size() -> None:
    ids, labels = _windows({"a": 60, "b": 1})
    assert len(ids) >= SMALL_DATA_WINDOWS
    _, val = split_by_sample(ids, 0.2, 1, labels)
    assert split_warnings(ids, labels, val, 0.2) == [
        "class 'b' has only 1 training sample: it stays in training, so validation cannot "
        "score it; record more samples of 'b'"
    ]


def test_no_validation_split_and_regression_warnings() -> None:
    ids, labels = _windows({"a": 2, "b": 2})
    _, val = split_by_sample(ids, 0.0, 1, labels)
    assert split_warnings(ids, labels, val, 0.0) == [
        "only 16 training windows from 4 samples ('a' 2, 'b' 2): no validation split: the "
        "model trains on all of them and early stopping watches the training loss (set a "
        "validation split to hold some out)"
    ]
    _, val = split_by_sample(ids, 0.25, 1)
    assert split_warnings(ids, None, val, 0.25) == [
        "only 16 training windows from 4 samples: validation holds 1 sample (4 windows), so "
        "its figures are rough"
    ]
    assert split_warnings(*_windows({"a": 60, "b": 60}), np.zeros(480, dtype=bool), 0.2) == []
