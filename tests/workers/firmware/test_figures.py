"""Device figures of a firmware build: painted stack, RAM = arena + stack + static, as `info`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workers.boards import get_board
from workers.compiler import compile_model
from workers.firmware.build import FirmwareBuild, build_firmware
from workers.firmware.figures import arena_note
from workers.firmware.profile import measure
from workers.firmware.qemu import VirtualBoardSession

MODELS = Path(__file__).resolve().parents[2] / "data" / "models"

pytestmark = pytest.mark.slow  # runs QEMU


def test_figures_equal_what_the_boards_info_prints(
    virtual_builds: dict[str, FirmwareBuild], tinyfc: tuple[Path, Any]
) -> None:
    board = get_board("virtual-cortex-m4")
    build = virtual_builds[board.id]
    figures = measure(board, build, tinyfc[0])
    ram = figures["ram"]
    assert 0 < ram["stack_bytes"] < ram["stack_reserved_bytes"] == build.stack_bytes
    assert ram["total_bytes"] == ram["arena_bytes"] + ram["stack_bytes"] + ram["static_bytes"]
    assert ram["arena_bytes"] == tinyfc[1].arena_bytes
    assert ram["static_parts"]["replay"] == 4 * 16 * 1024  # the default replay buffer
    assert sum(ram["static_parts"].values()) == ram["static_bytes"]
    flash = figures["flash"]
    assert flash["total_bytes"] == flash["model_bytes"] + flash["code_bytes"] + flash["data_bytes"]
    assert figures["measured_on"] == board.id and figures["latency"]["estimate"] is True
    # The impulse's own cost: model, DSP and stack, without the firmware's UART and replay.
    impulse_ram = build.ram["arena"] + build.ram["dsp_buffers"] + ram["stack_bytes"]
    assert ram["impulse_bytes"] == impulse_ram
    assert ram["impulse_bytes"] <= ram["total_bytes"] - ram["static_parts"]["replay"]
    impulse_flash = sum(build.flash[p] for p in ("model_weights", "model_code", "dsp_code"))
    assert flash["impulse_bytes"] == impulse_flash == flash["model_bytes"] + build.flash["dsp_code"]
    assert ram["impulse_contains"] and flash["impulse_contains"]
    # A fresh boot of the same image answers `info` with the same numbers, before any classify.
    with VirtualBoardSession(board, build.elf) as session:
        info = session.info()
    assert info["ram"] == {k: ram[k] for k in info["ram"]}
    assert info["ram_bytes"] == ram["total_bytes"]
    assert info["flash_bytes"] == flash["total_bytes"]


def test_arena_below_the_lower_bound_is_explained(tmp_path: Path) -> None:
    report = compile_model((MODELS / "kws_ref_model.tflite").read_bytes(), tmp_path / "model")
    assert report.arena_bytes < report.lower_bound  # DS-CNN: layers work in place
    board = get_board("virtual-cortex-m4")
    build = build_firmware(board, tmp_path / "model", tmp_path / "firmware")
    figures = measure(board, build, tmp_path / "model", lower_bound=report.lower_bound)
    ram = figures["ram"]
    assert ram["arena_bytes"] == report.arena_bytes
    assert ram["arena_lower_bound_bytes"] == report.lower_bound
    assert ram["arena_note"].startswith(
        f"arena {report.arena_bytes:,} B is below the {report.lower_bound:,} B lower bound "
        "because layers reuse their input buffers in place"
    )
    # DS-CNN's convolutions need more stack than a single fully connected layer.
    assert 0 < ram["stack_bytes"] < ram["stack_reserved_bytes"]


def test_no_note_when_the_arena_reaches_the_lower_bound() -> None:
    assert arena_note(768, 768) is None
    assert arena_note(800, None) is None
    assert "11,840 B is below the 16,000 B lower bound" in (arena_note(11_840, 16_000) or "")
