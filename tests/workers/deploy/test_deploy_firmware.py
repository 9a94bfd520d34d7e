"""Board firmware of a trained impulse: built, run on the virtual Cortex-M4 in QEMU, and its
`classify` answers equal the host C library's run_classifier() on the same windows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.boards import BoardNotFoundError, get_board
from workers.deploy.firmware import FirmwareUnavailableError, build_board_firmware
from workers.firmware.qemu import VirtualBoardSession

needs_tools = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc and qemu-system-arm are needed",
)


@pytest.fixture(scope="module")
def firmware(trained_impulse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    t = trained_impulse
    return build_board_firmware(
        board_id="virtual-cortex-m4",
        impulse_input=t.impulse_input,
        dsp_blocks=t.dsp_blocks,
        axes=t.axes,
        labels=t.labels,
        tflite_int8=t.tflite,
        out_dir=tmp_path_factory.mktemp("firmware"),
        model_name="gesture-detector",
    )


@needs_tools
@pytest.mark.slow
def test_firmware_classify_equals_the_host_library(
    firmware: Any, trained_impulse: Any, host_classifier: Any
) -> None:
    build, report = firmware
    t = trained_impulse
    # A few windows of every class, one of them near a class boundary if there is one.
    picks = [int(np.flatnonzero(t.y == label)[k]) for label in range(3) for k in (0, 5)]
    host = host_classifier.classify(t.windows[picks])

    with VirtualBoardSession(get_board("virtual-cortex-m4"), build.elf) as board:
        info = board.info()
        assert info["signal_values"] == 150
        assert info["labels"] == t.labels
        assert info["inputs"][0]["elements"] == report["dsp"]["feature_values"]
        answers = [board.classify(t.windows[i]) for i in picks]
    assert not board.is_running()

    for k, answer in enumerate(answers):
        # Scores travel as the shortest decimal of their float32, so they compare exactly.
        np.testing.assert_array_equal(
            np.asarray(answer["scores"], dtype=np.float32), host["scores"][k]
        )
        assert answer["label_index"] == host["label"][k]
        assert answer["label"] == t.labels[host["label"][k]]
        assert answer["anomaly"] is None  # the firmware has no anomaly block


@needs_tools
def test_firmware_report_splits_flash_and_ram(firmware: Any) -> None:
    build, report = firmware
    assert build.elf.is_file() and build.bin.is_file()
    assert report["board"] == "virtual-cortex-m4"
    assert report["dsp"] == {
        "blocks": ["spectral-analysis", "flatten"],
        "signal_values": 150,
        "feature_values": 36,
        "scratch_floats": report["dsp"]["scratch_floats"],
    }
    assert report["firmware"]["flash"]["dsp_code"] > 0
    assert report["firmware"]["flash"]["model_weights"] >= report["model"]["weights_bytes"]
    # The glue's scratch buffer is counted as a DSP buffer.
    assert report["firmware"]["ram"]["dsp_buffers"] >= 4 * report["dsp"]["scratch_floats"]
    assert report["firmware"]["flash_bytes"] == build.flash_bytes


@pytest.mark.parametrize(
    ("board_id", "reason"),
    [
        ("esp32-s3-devkitc-1", "no xtensa-lx7 toolchain"),
        ("raspberry-pi-pico", "no TinyStudio firmware port"),
    ],
)
def test_boards_without_firmware_point_to_the_libraries(
    board_id: str, reason: str, trained_impulse: Any, tmp_path: Path
) -> None:
    t = trained_impulse
    with pytest.raises(FirmwareUnavailableError) as caught:
        build_board_firmware(
            board_id=board_id,
            impulse_input=t.impulse_input,
            dsp_blocks=t.dsp_blocks,
            axes=t.axes,
            labels=t.labels,
            tflite_int8=t.tflite,
            out_dir=tmp_path,
        )
    message = str(caught.value)
    assert "cannot build firmware" in message and reason in message
    assert "C library" in message and "Arduino library" in message
    assert caught.value.alternatives == ("c-library", "arduino-library")
    assert not any(tmp_path.iterdir())  # refused before compiling anything


def test_unknown_boards_are_named(trained_impulse: Any, tmp_path: Path) -> None:
    t = trained_impulse
    with pytest.raises(BoardNotFoundError, match="virtual-cortex-m4"):
        build_board_firmware(
            board_id="cortex-m99",
            impulse_input=t.impulse_input,
            dsp_blocks=t.dsp_blocks,
            axes=t.axes,
            labels=t.labels,
            tflite_int8=t.tflite,
            out_dir=tmp_path,
        )
