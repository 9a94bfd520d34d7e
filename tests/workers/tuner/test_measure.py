"""Measured figures of a tuner candidate: the deployment's firmware, built and run in QEMU, with
the impulse's own RAM and flash named apart from the firmware's."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers import dsp, learn
from workers.boards import get_board
from workers.deploy.firmware import (
    FirmwareUnavailableError,
    build_board_firmware,
    firmware_figures,
)
from workers.firmware.figures import IMPULSE_FLASH_PARTS, IMPULSE_RAM_PARTS
from workers.learn.blocks import KerasBlock
from workers.tuner.measure import MODEL_NAME, measure_candidate
from workers.tuner.space import DataFacts, propose
from workers.windowing import window_samples

pytestmark = [
    pytest.mark.slow,  # TensorFlow, firmware builds and QEMU
    pytest.mark.skipif(
        shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
        reason="arm-none-eabi-gcc and qemu-system-arm are needed",
    ),
]
MOTION = DataFacts(
    axes=3,
    frequency_hz=50.0,
    shortest_sample_ms=2000.0,
    longest_sample_ms=6000.0,  # too long to classify whole: sliding windows
    n_classes=3,
    audio=False,
)
LABELS = ["idle", "shake", "wave"]


class ChosenTrial:
    """A trial answering from a dict of choices, the first choice (or lowest value) otherwise."""

    def __init__(self, choices: dict[str, Any]) -> None:
        self.choices = choices

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        value = self.choices.get(name, choices[0])
        assert value in choices, (name, value, choices)
        return value

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        return int(min(max(self.choices.get(name, low), low), high))

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return float(min(max(self.choices.get(name, low), low), high))


@dataclass
class Candidate:
    spec: dict[str, Any]
    tflite: bytes
    windows: np.ndarray  # (n, window_samples, axes) raw windows


@pytest.fixture(scope="module")
def candidate() -> Candidate:
    """Spectral analysis (low-pass) + a 16-8 dense classifier, proposed by the search space,
    built in Keras and quantized to int8 on the features of synthetic accelerometer windows."""
    from workers.learn import quantize_int8
    from workers.learn.training import import_tensorflow

    import_tensorflow()
    spec = propose(
        ChosenTrial(
            {
                "input.window_ms": 1000.0,
                "dsp.block": "spectral-analysis",
                "spectral-analysis.fft-length": 32,
                "spectral-analysis.filter-type": "low",
                "spectral-analysis.filter-cutoff": 8.0,
                "spectral-analysis.filter-order": 4,
                "classifier-dense.dense_layers": "16,8",
            }
        ),
        facts=MOTION,
        dsp_blocks=["spectral-analysis"],
        learn_blocks=["classifier-dense"],
        max_epochs=3,
    )
    samples = window_samples(spec["input"]["window_ms"], MOTION.frequency_hz)
    rng = np.random.default_rng(5)
    t = np.arange(samples) / MOTION.frequency_hz
    windows = np.stack(
        [
            np.stack([np.sin(2 * np.pi * (1 + k) * t + a) for a in range(3)], axis=1)
            + rng.normal(0, 0.3, (samples, 3))
            for k in range(24)
        ]
    ).astype(np.float32)
    dsp_spec, learn_spec = spec["dsp"][0], spec["learn"][0]
    features = dsp.get_block(dsp_spec["block"]).process(
        windows, MOTION.frequency_hz, dsp_spec["params"]
    )
    block = learn.get_learn_block(learn_spec["block"])
    assert isinstance(block, KerasBlock)
    model = block.build_model(learn_spec["params"], features.shape[1:], len(LABELS))
    return Candidate(spec, quantize_int8(model, features), windows)


@pytest.fixture(scope="module")
def measured(candidate: Candidate, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return measure_candidate(
        board_id="virtual-cortex-m4",
        spec=candidate.spec,
        axes=MOTION.axes,
        labels=LABELS,
        tflite_int8=candidate.tflite,
        out_dir=tmp_path_factory.mktemp("candidate"),
        window=candidate.windows[0],
    )


def test_impulse_figures_are_the_sum_of_their_named_parts(measured: dict[str, Any]) -> None:
    ram, flash = measured["ram"], measured["flash"]
    assert flash["impulse_bytes"] == sum(flash["parts"].get(p, 0) for p in IMPULSE_FLASH_PARTS)
    assert flash["impulse_bytes"] + flash["parts"]["firmware_code"] <= flash["total_bytes"]
    # The model's RAM is its arena plus the few statics the compiler keeps beside it ("other").
    parts = ram["static_parts"]
    impulse_floor = ram["arena_bytes"] + parts["dsp_buffers"] + ram["stack_bytes"]
    assert impulse_floor <= ram["impulse_bytes"] <= impulse_floor + parts["other"]
    # The firmware's serial state and replay buffer stay out of the impulse's RAM.
    assert ram["impulse_bytes"] + parts["replay"] + parts["firmware"] <= ram["total_bytes"]
    assert "painted stack" in ram["impulse_contains"]
    assert "DSP code" in flash["impulse_contains"]
    latency = measured["latency"]
    assert latency["instructions"] == sum(latency["stage_instructions"].values()) > 0
    assert measured["timings"]["build_s"] > 0 and measured["timings"]["measure_s"] > 0


def test_figures_equal_the_deployments_for_the_same_inputs(
    candidate: Candidate, measured: dict[str, Any], tmp_path: Path
) -> None:
    build, report = build_board_firmware(
        board_id="virtual-cortex-m4",
        impulse_input=candidate.spec["input"],
        dsp_blocks=candidate.spec["dsp"],
        axes=MOTION.axes,
        labels=LABELS,
        tflite_int8=candidate.tflite,
        out_dir=tmp_path,
        model_name=MODEL_NAME,  # the name is in the firmware's strings, so in its flash
    )
    deployed = firmware_figures(
        build,
        tmp_path,
        labels=LABELS,
        lower_bound=report["model"].get("lower_bound"),
        window=candidate.windows[0].reshape(-1),
    )
    for key in ("ram", "flash", "latency", "probe", "fits"):
        assert measured[key] == deployed[key], key
    # The impulse RAM is exactly the build's arena, DSP and stack parts.
    parts = sum(build.ram.get(p, 0) for p in IMPULSE_RAM_PARTS)
    assert measured["ram"]["impulse_bytes"] == parts + deployed["ram"]["stack_bytes"]


def test_a_board_without_firmware_is_measured_on_its_cores_virtual_board(
    candidate: Candidate, measured: dict[str, Any], tmp_path: Path
) -> None:
    board = get_board("nucleo-l4r5zi")  # Cortex-M4 at 120 MHz, no firmware port
    assert not board.firmware_buildable
    figures = measure_candidate(
        board_id=board.id,
        spec=candidate.spec,
        axes=MOTION.axes,
        labels=LABELS,
        tflite_int8=candidate.tflite,
        out_dir=tmp_path,
        window=candidate.windows[0],
    )
    assert figures["board"] == board.id and figures["measured_on"] == "virtual-cortex-m4"
    assert figures["ram"] == measured["ram"] and figures["flash"] == measured["flash"]
    instructions = figures["latency"]["instructions"]
    assert instructions == measured["latency"]["instructions"]
    expected_ms = instructions * board.cycles_per_instruction / board.clock_hz * 1000
    assert figures["latency"]["ms"] == pytest.approx(expected_ms)
    assert figures["latency"]["ms"] < measured["latency"]["ms"]  # 120 MHz beats 25 MHz
    assert "virtual-cortex-m4" in figures["note"]


def test_the_window_counted_is_the_one_given(candidate: Candidate, tmp_path: Path) -> None:
    from workers.learn import predict

    args: dict[str, Any] = {
        "board_id": "virtual-cortex-m4",
        "spec": candidate.spec,
        "axes": MOTION.axes,
        "labels": LABELS,
        "tflite_int8": candidate.tflite,
    }
    probe = measure_candidate(**args, out_dir=tmp_path / "probe")
    real = measure_candidate(**args, out_dir=tmp_path / "real", window=candidate.windows[3])
    assert probe["ram"]["impulse_bytes"] == real["ram"]["impulse_bytes"]
    assert probe["latency"]["instructions"] > 0 and real["latency"]["instructions"] > 0
    # The board classified that window: its scores are the studio's int8 scores for it.
    dsp_spec = candidate.spec["dsp"][0]
    features = dsp.get_block(dsp_spec["block"]).process(
        candidate.windows[3:4], MOTION.frequency_hz, dsp_spec["params"]
    )
    studio = predict(candidate.tflite, features)[0]
    np.testing.assert_allclose(real["probe"]["scores"], studio, atol=2 / 256)
    assert not np.allclose(probe["probe"]["scores"], studio, atol=1e-6)


def test_a_board_nobody_can_measure_is_refused(candidate: Candidate, tmp_path: Path) -> None:
    with pytest.raises(FirmwareUnavailableError) as exc:
        measure_candidate(
            board_id="esp32-s3-devkitc-1",
            spec=candidate.spec,
            axes=MOTION.axes,
            labels=LABELS,
            tflite_int8=candidate.tflite,
            out_dir=tmp_path,
        )
    assert "Xtensa" in str(exc.value)


def test_the_untrained_network_sizes_like_the_trained_one(
    candidate: Candidate, measured: dict[str, Any], tmp_path: Path
) -> None:
    """The tuner sizes a candidate before training it: RAM and flash follow from the layers,
    so the untrained network (calibrated on random windows) gives the same bytes as the one
    calibrated on the real features, and about the same instructions."""
    from workers.tuner.sizing import untrained_int8

    tflite = untrained_int8(candidate.spec, axes=MOTION.axes, n_classes=len(LABELS), seed=3)
    sized = measure_candidate(
        board_id="virtual-cortex-m4", spec=candidate.spec, axes=MOTION.axes, labels=LABELS,
        tflite_int8=tflite, out_dir=tmp_path, window=candidate.windows[0],
    )  # fmt: skip
    assert sized["ram"]["impulse_bytes"] == measured["ram"]["impulse_bytes"]
    assert sized["flash"]["impulse_bytes"] == measured["flash"]["impulse_bytes"]
    ratio = sized["latency"]["instructions"] / measured["latency"]["instructions"]
    assert 0.95 < ratio < 1.05, ratio
