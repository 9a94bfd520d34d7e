"""Tests for the board catalog: every board file loads, and bad board data is refused."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from workers.boards import CATALOG_DIR, Board, BoardNotFoundError, get_board, list_boards

VIRTUAL_MACHINES = {
    "virtual-cortex-m3": ("mps2-an385", "cortex-m3"),
    "virtual-cortex-m4": ("mps2-an386", "cortex-m4"),
    "virtual-cortex-m7": ("mps2-an500", "cortex-m7"),
    "virtual-cortex-m33": ("mps2-an505", "cortex-m33"),
}


def _board_data(board_id: str) -> dict[str, object]:
    return dict(json.loads((CATALOG_DIR / f"{board_id}.json").read_text()))


def test_virtual_boards_map_to_their_qemu_machines() -> None:
    virtual = {b.id: b for b in list_boards(kind="virtual")}
    assert set(virtual) == set(VIRTUAL_MACHINES)
    for board_id, (machine, core) in VIRTUAL_MACHINES.items():
        board = virtual[board_id]
        assert (board.qemu_machine, board.core) == (machine, core)
        assert board.flash_method == "virtual"
        assert board.firmware_buildable
        assert board.firmware is not None and board.firmware.port == "mps2-cmsdk"


def test_fpu_boards_use_hard_float_and_the_m3_does_not() -> None:
    assert get_board("virtual-cortex-m3").compiler.mfloat_abi == "soft"  # type: ignore[union-attr]
    m4 = get_board("virtual-cortex-m4").compiler
    assert m4 is not None
    assert m4.as_args() == [
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
    ]


def test_real_boards_are_catalogued_with_their_limits() -> None:
    nano = get_board("arduino-nano-33-ble-sense")
    assert (nano.core, nano.clock_hz, nano.flash_bytes, nano.ram_bytes) == (
        "cortex-m4",
        64_000_000,
        1024 * 1024,
        256 * 1024,
    )
    pico = get_board("raspberry-pi-pico")
    assert (pico.core, pico.flash_method, pico.ram_bytes) == ("cortex-m0plus", "uf2", 264 * 1024)
    nucleo = get_board("nucleo-l4r5zi")
    assert (nucleo.clock_hz, nucleo.ram_bytes) == (120_000_000, 640 * 1024)


def test_esp32_says_its_firmware_cannot_be_built_here() -> None:
    esp = get_board("esp32-s3-devkitc-1")
    assert esp.toolchain == "none" and esp.flash_method == "esptool"
    assert not esp.firmware_buildable
    assert "toolchain" in (esp.firmware_unavailable_reason or "")


def test_every_core_documents_its_cycles_per_instruction() -> None:
    for board in list_boards():
        core = board.core_info
        assert 0.5 <= board.cycles_per_instruction <= 2.0
        assert len(core.cpi_source) > 40


def test_latency_estimate_is_instructions_times_cpi_over_clock() -> None:
    nucleo = get_board("nucleo-l4r5zi")
    assert nucleo.latency_estimate_s(1_200_000) == pytest.approx(1_200_000 * 1.3 / 120e6)


def test_unknown_board_names_the_known_ones() -> None:
    with pytest.raises(BoardNotFoundError, match="virtual-cortex-m4"):
        get_board("no-such-board")


def test_virtual_board_without_machine_is_refused() -> None:
    data = _board_data("virtual-cortex-m4")
    data["qemu_machine"] = None
    with pytest.raises(ValidationError, match="qemu_machine"):
        Board.model_validate(data)


def test_fpu_and_float_abi_must_agree() -> None:
    data = _board_data("virtual-cortex-m3")
    data["fpu"] = "single"
    with pytest.raises(ValidationError, match="float-abi"):
        Board.model_validate(data)


def test_addresses_are_read_from_hex_strings() -> None:
    m33 = get_board("virtual-cortex-m33")
    assert m33.memory is not None and m33.firmware is not None
    assert (m33.memory.flash_origin, m33.firmware.uart_base) == (0x10000000, 0x50200000)


def test_unknown_fields_are_refused() -> None:
    data = _board_data("raspberry-pi-pico")
    data["clock_mhz"] = 133
    with pytest.raises(ValidationError):
        Board.model_validate(data)


def test_every_real_board_says_how_it_is_flashed() -> None:
    for board in list_boards(kind="physical"):
        assert board.flashing is not None and board.flashing.steps, board.id
    pico = get_board("raspberry-pi-pico")
    assert pico.flashing is not None and pico.flashing.uf2_family_id == 0xE48BFF56
    esp = get_board("esp32-s3-devkitc-1")
    assert esp.flashing is not None and esp.flashing.app_offset == 0x10000
