"""One set of device figures per build: the firmware's, its board's `info`, and the libraries'."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from workers.boards import get_board
from workers.deploy.firmware import (
    LIBRARY_REFERENCE_BOARD,
    build_board_firmware,
    firmware_figures,
    library_figures,
)
from workers.firmware.qemu import VirtualBoardSession

pytestmark = [
    pytest.mark.slow,  # builds firmware and runs it in QEMU
    pytest.mark.skipif(
        shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
        reason="arm-none-eabi-gcc and qemu-system-arm are needed",
    ),
]
NAME = "gesture-detector"


@pytest.fixture(scope="module")
def firmware(trained_impulse: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The impulse's firmware for the virtual Cortex-M4 and its figures."""
    t = trained_impulse
    out = tmp_path_factory.mktemp("figures-firmware")
    build, report = build_board_firmware(
        board_id="virtual-cortex-m4", **t.build_args(), out_dir=out, model_name=NAME
    )
    figures = firmware_figures(
        build,
        out,
        labels=t.labels,
        lower_bound=report["model"]["lower_bound"],
        window=t.windows[0].reshape(-1),
    )
    return build, report, figures


def test_firmware_figures_add_up_and_equal_the_boards_info(firmware: Any) -> None:
    build, report, figures = firmware
    ram, flash = figures["ram"], figures["flash"]
    assert 0 < ram["stack_bytes"] < ram["stack_reserved_bytes"]
    assert ram["total_bytes"] == ram["arena_bytes"] + ram["stack_bytes"] + ram["static_bytes"]
    assert ram["arena_bytes"] == report["model"]["arena_bytes"]
    assert ram["static_parts"]["dsp_buffers"] >= 4 * report["dsp"]["scratch_floats"]
    assert flash["model_bytes"] >= report["model"]["weights_bytes"]
    latency = figures["latency"]
    assert latency["instructions"] == sum(latency["stage_instructions"].values()) > 0
    assert latency["estimate"] is True and "virtual-cortex-m4" in latency["method"]
    with VirtualBoardSession(get_board("virtual-cortex-m4"), build.elf) as session:
        info = session.info()
    assert info["ram_bytes"] == ram["total_bytes"]
    for key in ("total_bytes", "arena_bytes", "stack_bytes", "static_bytes"):
        assert info["ram"][key] == ram[key], key
    assert info["flash_bytes"] == flash["total_bytes"]


def test_arena_note_follows_the_compilers_lower_bound(firmware: Any) -> None:
    _, report, figures = firmware
    ram = figures["ram"]
    assert ram["arena_lower_bound_bytes"] == report["model"]["lower_bound"]
    below = report["model"]["arena_bytes"] < report["model"]["lower_bound"]
    assert (ram["arena_note"] is not None) == below
    if below:
        assert "below the" in ram["arena_note"] and "in place" in ram["arena_note"]


@pytest.mark.parametrize("kind", ["C library", "Arduino library"])
def test_library_figures_are_the_firmware_builds(
    kind: str, firmware: Any, trained_impulse: Any, tmp_path: Path
) -> None:
    _, _, expected = firmware
    t = trained_impulse
    figures = library_figures(
        kind=kind,
        out_dir=tmp_path,
        model_name=NAME,
        window=t.windows[0].reshape(-1),
        **t.build_args(),
    )
    for part in ("ram", "flash", "latency", "probe"):
        assert figures[part] == expected[part], part
    assert figures["measured_on"] == LIBRARY_REFERENCE_BOARD == "virtual-cortex-m4"
    assert figures["note"].startswith(f"The {kind} measured as TinyStudio's firmware on")
