"""The tuner's search space: every proposal is an impulse the blocks accept for the data, each
block samples its own prefixed parameters, and a real Optuna study runs on it unchanged."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from workers import dsp, learn
from workers.learn.blocks import KerasBlock
from workers.tuner.space import (
    CLASSIFIERS,
    DataFacts,
    SearchSpaceError,
    allowed_blocks,
    check_blocks,
    propose,
    shapes_of,
    starting_point,
    window_choices,
)
from workers.windowing import window_samples

# BasicMotions-like: 6 axes (accelerometer + gyroscope) at 100 Hz, 1-s samples, 4 activities.
MOTION = DataFacts(
    axes=6,
    frequency_hz=100.0,
    shortest_sample_ms=1000.0,
    longest_sample_ms=1000.0,
    n_classes=4,
    audio=False,
)
# Keyword spotting: 1-s clips at 16 kHz.
AUDIO = DataFacts(
    axes=1,
    frequency_hz=16000.0,
    shortest_sample_ms=1000.0,
    longest_sample_ms=1000.0,
    n_classes=3,
    audio=True,
)


class RecordingTrial:
    """A trial drawing at random and recording every suggestion. Like Optuna's storage, the
    `space` shared by the trials of one study refuses a name whose categorical choices (or log
    setting) change between suggestions."""

    def __init__(self, seed: int, space: dict[str, tuple[str, Any]]) -> None:
        self.rng = random.Random(seed)
        self.space = space
        self.params: dict[str, Any] = {}

    def _record(self, name: str, kind: str, detail: Any, value: Any) -> Any:
        assert name not in self.params, f"{name} suggested twice in one trial"
        seen = self.space.setdefault(name, (kind, detail))
        assert seen == (kind, detail), f"{name}: {seen} then {(kind, detail)}"
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._record(name, "categorical", tuple(choices), self.rng.choice(list(choices)))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        assert low <= high, f"{name}: empty range {low}..{high}"
        return self._record(name, "int", log, self.rng.randrange(low, high + 1, step))

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        assert low <= high, f"{name}: empty range {low}..{high}"
        if log:
            value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        elif step:
            value = low + step * self.rng.randrange(int(round((high - low) / step)) + 1)
        else:
            value = self.rng.uniform(low, high)
        return self._record(name, "float", log, value)


def _features(spec: dict[str, Any], facts: DataFacts, rng: np.random.Generator) -> np.ndarray:
    """The DSP block's features of two random windows of the proposed size."""
    samples = window_samples(spec["input"]["window_ms"], facts.frequency_hz)
    scale = 3000.0 if facts.audio else 2.0  # 16-bit PCM for audio, m/s^2-like otherwise
    windows = rng.normal(0.0, scale, (2, samples, facts.axes)).astype(np.float32)
    block = spec["dsp"][0]
    return dsp.get_block(block["block"]).process(windows, facts.frequency_hz, block["params"])


def _propose_many(
    facts: DataFacts,
    dsp_blocks: Sequence[str],
    count: int,
    seed: int = 0,
    learn_blocks: Sequence[str] = CLASSIFIERS,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    space: dict[str, tuple[str, Any]] = {}
    out = []
    for index in range(count):
        trial = RecordingTrial(seed + index, space)
        spec = propose(
            trial, facts=facts, dsp_blocks=dsp_blocks, learn_blocks=learn_blocks, max_epochs=25
        )
        out.append((trial.params, spec))
    return out


@pytest.mark.parametrize("facts", [MOTION, AUDIO], ids=["motion", "audio"])
def test_200_random_proposals_are_valid_impulses_for_the_data(facts: DataFacts) -> None:
    dsp_blocks, learn_blocks = allowed_blocks(facts)
    rng = np.random.default_rng(1)
    seen_dsp, seen_learn = set(), set()
    for params, spec in _propose_many(facts, dsp_blocks, 200, learn_blocks=learn_blocks):
        assert [b["block"] for b in spec["dsp"]] == [params["dsp.block"]]
        shapes = shapes_of(spec, axes=facts.axes, n_classes=facts.n_classes)
        features = _features(spec, facts, rng)
        assert features.shape[1:] == tuple(shapes["learn_input_shape"])
        assert np.isfinite(features).all()
        learn_spec = spec["learn"][0]
        assert learn_spec["block"] in learn_blocks
        block = learn.get_learn_block(learn_spec["block"])
        checked = block.validate_params(learn_spec["params"], features.shape[1:], facts.n_classes)
        assert checked == learn_spec["params"]  # already complete and canonical
        assert checked["epochs"] == 25 and checked["early_stopping"] > 0
        # Trials are scored on validation data, so they hold some out even from small data.
        assert checked["validation_split"] == 0.2
        assert checked["seed"] == 1
        assert spec["input"]["frequency_hz"] == facts.frequency_hz
        assert spec["input"]["stride_ms"] <= spec["input"]["window_ms"]
        assert spec["input"]["window_ms"] <= facts.shortest_sample_ms
        assert spec["input"]["zero_pad"] is False  # every window fits every sample
        # Every sampled name belongs to the input, the chosen blocks or the block choices.
        owners = {"input", "dsp", "learn", params["dsp.block"], learn_spec["block"]}
        assert {name.split(".")[0] for name in params} <= owners, params
        seen_dsp.add(params["dsp.block"])
        seen_learn.add(learn_spec["block"])
    assert seen_dsp == set(dsp_blocks)
    assert seen_learn == set(learn_blocks)


@pytest.mark.parametrize("facts", [MOTION, AUDIO], ids=["motion", "audio"])
def test_every_dsp_block_yields_valid_proposals_even_off_its_usual_data(facts: DataFacts) -> None:
    rng = np.random.default_rng(2)
    for _, spec in _propose_many(facts, list(dsp.BLOCKS), 120, seed=500):
        shapes = shapes_of(spec, axes=facts.axes, n_classes=facts.n_classes)
        assert _features(spec, facts, rng).shape[1:] == tuple(shapes["learn_input_shape"])


def test_allowed_blocks_follow_the_kind_of_data() -> None:
    assert allowed_blocks(AUDIO) == (["mfcc", "mfe", "spectrogram"], list(CLASSIFIERS))
    motion_dsp, motion_learn = allowed_blocks(MOTION)
    assert motion_dsp == ["spectral-analysis", "flatten", "raw"]
    assert motion_learn == ["classifier-dense", "classifier-conv1d"]
    vibration = DataFacts(3, 4000.0, 2000.0, 2000.0, 2, audio=False)
    assert "spectrogram" in allowed_blocks(vibration)[0]
    assert "classifier-conv2d" in allowed_blocks(vibration)[1]


def test_windows_are_the_whole_sample_or_fractions_of_the_shortest() -> None:
    # Keyword clips and 1-s gestures are classified whole: a shorter window cuts the event.
    assert window_choices(AUDIO) == [1000.0]
    assert window_choices(MOTION) == [1000.0]
    # Recordings longer than two usual windows: fractions of the shortest, up to 1 s of audio.
    assert window_choices(DataFacts(1, 16000.0, 3000.0, 5000.0, 3, audio=True)) == [
        250.0, 500.0, 750.0, 1000.0,
    ]  # fmt: skip
    # Long sensor recordings: windows up to 2 s, each of at least 8 samples (10 Hz).
    slow = DataFacts(6, 10.0, 10_000.0, 10_000.0, 4, audio=False)
    assert window_choices(slow) == [1000.0, 1500.0, 2000.0]
    # Samples shorter than 8 readings: one window of 8, zero-padded.
    short = DataFacts(1, 10.0, 500.0, 500.0, 2, audio=False)
    assert window_choices(short) == [800.0]
    trial = RecordingTrial(0, {})
    spec = propose(
        trial, facts=short, dsp_blocks=["flatten"], learn_blocks=CLASSIFIERS, max_epochs=5
    )
    assert spec["input"]["zero_pad"] is True


def test_image_classifiers_only_follow_two_dimensional_features() -> None:
    for params, spec in _propose_many(MOTION, ["flatten", "spectral-analysis", "raw"], 150):
        if spec["dsp"][0]["block"] != "raw":
            assert spec["learn"][0]["block"] in ("classifier-dense", "classifier-conv1d")
            assert f"learn.block[{params['dsp.block']}]" in params
        else:
            assert "learn.block" in params  # every classifier takes raw (time x axes)


def test_blocks_that_leave_nothing_to_search_are_refused_by_name() -> None:
    with pytest.raises(SearchSpaceError) as unknown:
        check_blocks(["mfcc", "wavelet"], ["classifier-dense"])
    assert unknown.value.field == "dsp_blocks" and "wavelet" in unknown.value.message
    with pytest.raises(SearchSpaceError) as not_classifier:
        check_blocks(["mfcc"], ["anomaly-kmeans"])
    assert not_classifier.value.field == "learn_blocks"
    with pytest.raises(SearchSpaceError) as no_fit:
        check_blocks(["flatten"], ["classifier-conv2d"])
    assert no_fit.value.field == "learn_blocks" and "2-D features" in no_fit.value.message
    assert check_blocks(["flatten", "mfcc"], ["classifier-dscnn"]) == ["mfcc"]


def test_shapes_of_names_the_field_a_spec_gets_wrong() -> None:
    # A 45 Hz low-pass is fine at 100 Hz; 80 Hz lies beyond the Nyquist frequency.
    spec: dict[str, Any] = {
        "input": {"window_ms": 1000.0, "stride_ms": 500.0, "frequency_hz": 100.0},
        "dsp": [{"block": "spectral-analysis", "params": {"filter-type": "low"}}],
        "learn": [{"block": "classifier-dense", "params": {}}],
    }
    spec["dsp"][0]["params"]["filter-cutoff"] = 45.0
    # Per axis: 3 time statistics + the FFT-16 bins up to the cut-off (6.25 ... 43.75 Hz).
    assert shapes_of(spec, axes=3, n_classes=2)["learn_input_shape"] == [3 * (3 + 7)]
    spec["dsp"][0]["params"]["filter-cutoff"] = 80.0
    with pytest.raises(SearchSpaceError) as exc:
        shapes_of(spec, axes=3, n_classes=2)
    assert exc.value.field == "dsp[0].params.filter-cutoff"


def test_the_starting_impulse_trains_as_every_trial_or_is_refused_saying_why() -> None:
    spec: dict[str, Any] = {
        "input": {"window_ms": 1000.0, "stride_ms": 100.0, "frequency_hz": 100.0},
        "dsp": [{"block": "flatten", "params": {}}],
        "learn": [{"block": "classifier-dense", "params": {"dense_layers": [8], "epochs": 900}}],
    }
    lists = {"dsp_blocks": ["flatten"], "learn_blocks": ["classifier-dense"], "max_epochs": 30}
    start = starting_point(spec, facts=MOTION, **lists)
    assert start is not None and start["input"] == spec["input"]
    assert start["learn"][0]["params"] == {
        "dense_layers": [8], "epochs": 30, "early_stopping": 6, "validation_split": 0.2,
    }  # fmt: skip
    with pytest.raises(SearchSpaceError, match="its block flatten is not among the blocks"):
        starting_point(spec, facts=MOTION, **{**lists, "dsp_blocks": ["raw"]})
    two = {**spec, "dsp": spec["dsp"] * 2}
    with pytest.raises(SearchSpaceError, match="2 processing and 1 learning blocks"):
        starting_point(two, facts=MOTION, **lists)
    # An impulse this data cannot run (a cut-off beyond Nyquist) is refused by name.
    beyond = {"filter-type": "low", "filter-cutoff": 80.0}
    spec["dsp"] = [{"block": "spectral-analysis", "params": beyond}]
    with pytest.raises(SearchSpaceError) as exc:
        starting_point(spec, facts=MOTION, **{**lists, "dsp_blocks": ["spectral-analysis"]})
    assert exc.value.field == "dsp[0].params.filter-cutoff"


def test_classifier_spaces_start_tiny_and_allow_larger_networks() -> None:
    space: dict[str, tuple[str, Any]] = {}
    for index in range(200):
        propose(
            RecordingTrial(index, space),
            facts=AUDIO,
            dsp_blocks=["mfcc", "mfe"],
            learn_blocks=CLASSIFIERS,
            max_epochs=5,
        )
    smallest_and_largest = {
        "classifier-dense.dense_layers": ("8", "64,32"),
        "classifier-conv1d.filters": (4, 32),
        "classifier-conv2d.filters": (4, 16),
        "classifier-dscnn.filters": (8, 64),
    }
    for name, (smallest, largest) in smallest_and_largest.items():
        kind, choices = space[name]
        assert kind == "categorical" and (choices[0], choices[-1]) == (smallest, largest), name
    assert space["classifier-dense.learning_rate"] == ("float", True)  # log scale


@pytest.mark.slow  # imports TensorFlow
def test_a_handful_of_proposals_build_keras_models() -> None:
    from workers.learn.training import import_tensorflow

    import_tensorflow()
    rng = np.random.default_rng(3)
    for facts in (MOTION, AUDIO):
        blocks = allowed_blocks(facts)[0]
        for _, spec in _propose_many(facts, blocks, 4, seed=77):
            features = _features(spec, facts, rng)
            learn_spec = spec["learn"][0]
            block = learn.get_learn_block(learn_spec["block"])
            assert isinstance(block, KerasBlock)
            model = block.build_model(learn_spec["params"], features.shape[1:], facts.n_classes)
            scores = np.asarray(model(features.reshape(len(features), -1)))
            assert scores.shape == (2, facts.n_classes)
            np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("sampler", ["tpe", "random"])
@pytest.mark.parametrize("facts", [MOTION, AUDIO], ids=["motion", "audio"])
def test_a_real_optuna_study_asks_and_tells_over_the_space(sampler: str, facts: DataFacts) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dsp_blocks, learn_blocks = allowed_blocks(facts)

    def study() -> optuna.Study:
        chosen = (
            optuna.samplers.TPESampler(seed=1, n_startup_trials=8)
            if sampler == "tpe"
            else optuna.samplers.RandomSampler(seed=1)
        )
        return optuna.create_study(direction="maximize", sampler=chosen)

    def ask(s: optuna.Study) -> tuple[optuna.trial.Trial, dict[str, Any]]:
        trial = s.ask()
        spec = propose(
            trial, facts=facts, dsp_blocks=dsp_blocks, learn_blocks=learn_blocks, max_epochs=10
        )
        return trial, spec

    first = study()
    specs = []
    for _ in range(25):
        trial, spec = ask(first)
        shapes = shapes_of(spec, axes=facts.axes, n_classes=facts.n_classes)
        # A stand-in objective favouring small inputs, so TPE has something to follow.
        first.tell(trial, -math.prod(shapes["learn_input_shape"]))
        specs.append(spec)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in first.trials)
    assert len({s["dsp"][0]["block"] for s in specs}) > 1
    # The same sampler seed asks the same questions: a run repeats exactly.
    second = study()
    assert [ask(second)[1] for _ in range(3)] == specs[:3]
