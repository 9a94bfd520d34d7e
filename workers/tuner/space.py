"""The tuner's search space: the blocks that fit a dataset, and one valid impulse per trial.

A proposal samples the input window, one DSP block and one classifier; each block samples its
own key parameters through its `tune()` method, with names prefixed by the block's name so the
conditional space stays unambiguous ("mfcc.num_cepstral"). `trial` is duck-typed on Optuna's
suggest_categorical / suggest_int / suggest_float, so nothing here imports Optuna.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from workers import dsp, learn
from workers.dsp.c_config import c_block_config
from workers.learn.blocks import KerasBlock
from workers.learn.search import trial_training
from workers.windowing import classified_whole, window_samples


class SearchTrial(Protocol):
    """What a proposal asks of a trial: Optuna's suggest API (an optuna.Trial is one)."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...


@dataclass(frozen=True)
class DataFacts:
    """What the dataset says about the impulses that can run on it."""

    axes: int
    frequency_hz: float
    shortest_sample_ms: float
    longest_sample_ms: float
    n_classes: int
    audio: bool


class SearchSpaceError(ValueError):
    """Tuner settings or an impulse that leave nothing valid to try, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


AUDIO_DSP = ("mfcc", "mfe", "spectrogram")
SENSOR_DSP = ("spectral-analysis", "flatten", "raw")
CLASSIFIERS = ("classifier-dense", "classifier-conv1d", "classifier-conv2d", "classifier-dscnn")
# These convolve a time-frequency image, so they follow DSP blocks with a 2-D output only.
IMAGE_CLASSIFIERS = ("classifier-conv2d", "classifier-dscnn")
# Sensor data this fast has continuous frequencies that a spectrogram shows well (vibration).
SPECTROGRAM_SENSOR_HZ = 1000.0
# Windows are these fractions of the shortest sample, itself capped at the longest window.
WINDOW_FRACTIONS = (0.25, 0.5, 0.75, 1.0)
LONGEST_AUDIO_WINDOW_MS = 1000.0
LONGEST_SENSOR_WINDOW_MS = 2000.0
FEWEST_WINDOW_SAMPLES = 8
STRIDE_FRACTIONS = (0.25, 0.5, 1.0)


def allowed_blocks(facts: DataFacts) -> tuple[list[str], list[str]]:
    """(DSP blocks, classifier blocks) that suit the data: audio gets MFCC, MFE and the
    spectrogram with every classifier; sensor data gets spectral analysis, flatten and raw with
    the dense and 1-D classifiers (and the spectrogram and 2-D ones when sampled fast)."""
    dsp_names = list(AUDIO_DSP if facts.audio else SENSOR_DSP)
    if not facts.audio and facts.frequency_hz >= SPECTROGRAM_SENSOR_HZ:
        dsp_names.append("spectrogram")
    images = any(name in AUDIO_DSP for name in dsp_names)
    learn_names = [name for name in CLASSIFIERS if images or name not in IMAGE_CLASSIFIERS]
    return dsp_names, learn_names


@cache
def output_rank(dsp_name: str) -> int:
    """The rank of a DSP block's output (1 = a feature vector, 2 = frames x values)."""
    block = dsp.get_block(dsp_name)
    return len(block.output_shape(16000, 1, 16000.0, block.defaults()))


def fits(learn_name: str, dsp_name: str) -> bool:
    """Whether the classifier can take the DSP block's output."""
    return learn_name not in IMAGE_CLASSIFIERS or output_rank(dsp_name) == 2


def check_blocks(dsp_blocks: Sequence[str], learn_blocks: Sequence[str]) -> list[str]:
    """The DSP blocks that some classifier of `learn_blocks` can follow; SearchSpaceError
    (field "dsp_blocks" or "learn_blocks") for unknown names or nothing left to search."""
    for name in dsp_blocks:
        if name not in dsp.BLOCKS:
            known = ", ".join(sorted(dsp.BLOCKS))
            raise SearchSpaceError("dsp_blocks", f"unknown DSP block {name!r} (known: {known})")
    for name in learn_blocks:
        if name not in CLASSIFIERS:
            known = ", ".join(CLASSIFIERS)
            raise SearchSpaceError(
                "learn_blocks", f"{name!r} is not a classifier the tuner searches (known: {known})"
            )
    if not dsp_blocks:
        raise SearchSpaceError("dsp_blocks", "choose at least one DSP block")
    if not learn_blocks:
        raise SearchSpaceError("learn_blocks", "choose at least one classifier")
    usable = [d for d in dsp_blocks if any(fits(c, d) for c in learn_blocks)]
    if not usable:
        raise SearchSpaceError(
            "learn_blocks",
            f"{', '.join(learn_blocks)} need 2-D features (frames x values) but "
            f"{', '.join(dsp_blocks)} give a feature vector; add classifier-dense or "
            "classifier-conv1d, or a DSP block such as mfcc, mfe or spectrogram",
        )
    return usable


def window_choices(facts: DataFacts) -> list[float]:
    """Window lengths (ms): the whole sample when every sample is short enough to be classified
    whole (one word, one gesture), else fractions of the shortest sample (capped at 1 s for
    audio, 2 s otherwise); each holding at least FEWEST_WINDOW_SAMPLES samples."""
    period_ms = 1000.0 / facts.frequency_hz
    longest = LONGEST_AUDIO_WINDOW_MS if facts.audio else LONGEST_SENSOR_WINDOW_MS
    fewest_ms = FEWEST_WINDOW_SAMPLES * period_ms
    if classified_whole(facts.longest_sample_ms, longest):
        return [float(max(round(facts.longest_sample_ms), math.ceil(fewest_ms)))]
    span = min(facts.shortest_sample_ms, max(longest, fewest_ms))
    choices = sorted(
        {
            float(round(fraction * span))
            for fraction in WINDOW_FRACTIONS
            if round(fraction * span) >= fewest_ms
        }
    )
    # Samples shorter than the fewest samples a block needs: one zero-padded window.
    return choices or [float(math.ceil(fewest_ms))]


def propose(
    trial: SearchTrial,
    *,
    facts: DataFacts,
    dsp_blocks: Sequence[str],
    learn_blocks: Sequence[str],
    max_epochs: int,
) -> dict[str, Any]:
    """One impulse spec {"input", "dsp": [one block], "learn": [one block]} for the data,
    sampled from `trial`, that shapes_of() accepts; SearchSpaceError if the blocks given leave
    nothing to search (see check_blocks)."""
    usable = check_blocks(dsp_blocks, learn_blocks)
    f = facts.frequency_hz
    window_ms = trial.suggest_categorical("input.window_ms", window_choices(facts))
    fraction = trial.suggest_categorical("input.stride_fraction", STRIDE_FRACTIONS)
    stride_ms = round(max(window_ms * fraction, 1000.0 / f), 3)
    samples = window_samples(window_ms, f)

    dsp_name = trial.suggest_categorical("dsp.block", usable)
    dsp_block = dsp.get_block(dsp_name)
    dsp_params = dsp_block.tune(trial, facts, window_samples=samples)
    shape = dsp_block.output_shape(samples, facts.axes, f, dsp_params)

    fitting = [name for name in learn_blocks if fits(name, dsp_name)]
    # One name while every classifier fits; per DSP block when the choices differ.
    key = "learn.block" if len(fitting) == len(learn_blocks) else f"learn.block[{dsp_name}]"
    learn_name = trial.suggest_categorical(key, fitting)
    learn_block = learn.get_learn_block(learn_name)
    assert isinstance(learn_block, KerasBlock)
    learn_params = learn_block.tune(trial, facts, input_shape=shape, max_epochs=max_epochs)

    spec = {
        "input": {
            "window_ms": float(window_ms),
            "stride_ms": stride_ms,
            "frequency_hz": f,
            "zero_pad": window_ms > facts.shortest_sample_ms,
        },
        "dsp": [{"block": dsp_name, "params": dsp_params}],
        "learn": [{"block": learn_name, "params": learn_params}],
    }
    shapes_of(spec, axes=facts.axes, n_classes=facts.n_classes)
    return spec


def starting_point(
    spec: dict[str, Any],
    *,
    facts: DataFacts,
    dsp_blocks: Sequence[str],
    learn_blocks: Sequence[str],
    max_epochs: int,
) -> dict[str, Any]:
    """The impulse a run starts from, as its first trial: trained like every trial (same epoch
    bound, early stopping and validation split), so the winner is never worse on validation
    than what the user had. SearchSpaceError saying why when the search could not have
    proposed its kind of impulse (not one DSP block and one classifier, blocks outside the
    run's lists) or the data cannot run it."""
    if len(spec["dsp"]) != 1 or len(spec["learn"]) != 1:
        raise SearchSpaceError(
            "impulse_id",
            f"it has {len(spec['dsp'])} processing and {len(spec['learn'])} learning blocks; "
            "the tuner searches impulses of one of each",
        )
    dsp_name, learn_name = spec["dsp"][0]["block"], spec["learn"][0]["block"]
    for name, searched in ((dsp_name, dsp_blocks), (learn_name, learn_blocks)):
        if name not in searched:
            raise SearchSpaceError(
                "impulse_id", f"its block {name} is not among the blocks this run searches"
            )
    learn_params = {**spec["learn"][0]["params"], **trial_training(max_epochs)}
    start = {**spec, "learn": [{"block": learn_name, "params": learn_params}]}
    shapes_of(start, axes=facts.axes, n_classes=facts.n_classes)
    return start


def shapes_of(spec: dict[str, Any], *, axes: int, n_classes: int) -> dict[str, Any]:
    """The shapes between the blocks of `spec` (as the studio's impulse check gives them), once
    every block accepts its input and every DSP block has a device (C) config; SearchSpaceError
    naming the field ("dsp[0].params.fft_length") otherwise."""
    f = float(spec["input"]["frequency_hz"])
    samples = window_samples(float(spec["input"]["window_ms"]), f)
    dsp_shapes = []
    for index, block_spec in enumerate(spec["dsp"]):
        where = f"dsp[{index}]"
        try:
            block = dsp.get_block(block_spec["block"])
            params = block.validate_params(block_spec["params"])
            shape = block.output_shape(samples, axes, f, params)
            c_block_config(block.name, params, f, samples, axes)
        except dsp.DspParamError as exc:
            raise SearchSpaceError(f"{where}.params.{exc.field}", exc.message) from None
        except ValueError as exc:  # the C config's own limits
            raise SearchSpaceError(f"{where}.params", str(exc)) from None
        dsp_shapes.append([int(s) for s in shape])
    learn_input = dsp_shapes[0] if len(dsp_shapes) == 1 else [sum(math.prod(s) for s in dsp_shapes)]
    for index, block_spec in enumerate(spec["learn"]):
        try:
            learn.get_learn_block(block_spec["block"]).validate_params(
                block_spec["params"], tuple(learn_input), max(n_classes, 2)
            )
        except learn.LearnParamError as exc:
            raise SearchSpaceError(f"learn[{index}].params.{exc.field}", exc.message) from None
    return {
        "window_samples": samples,
        "axes": axes,
        "dsp_output_shapes": dsp_shapes,
        "learn_input_shape": learn_input,
    }
