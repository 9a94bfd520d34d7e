"""Tests for build_firmware: real arm-none-eabi-gcc builds, their flash/RAM split, size limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workers.boards import get_board, list_boards
from workers.firmware.build import (
    FirmwareBuild,
    FirmwareBuildError,
    FirmwareTooLargeError,
    build_firmware,
)

VIRTUAL = [b.id for b in list_boards(kind="virtual")]


@pytest.mark.parametrize("board_id", VIRTUAL)
def test_builds_for_every_virtual_board(
    board_id: str, virtual_builds: dict[str, FirmwareBuild], tinyfc: tuple[Path, Any]
) -> None:
    _, model = tinyfc
    build = virtual_builds[board_id]
    assert build.elf.is_file() and build.map.is_file()
    # The .bin is exactly what goes to flash: code, constants and the .data image.
    assert build.bin.stat().st_size == build.flash_bytes
    # Weights are the int8 matrix plus the int32 bias, nothing else of the model is constant.
    assert build.flash["model_weights"] == model.inputs * model.outputs + 4 * model.outputs
    assert build.ram["arena"] == model.arena_bytes
    assert build.ram["signal_window"] == 4 * model.inputs  # the float raw-window buffer
    assert build.ram["stack"] == build.stack_bytes == 16 * 1024
    # The split accounts for every byte; alignment padding stays small.
    assert sum(build.flash.values()) == build.flash_bytes
    assert sum(build.ram.values()) == build.ram_bytes
    assert 0 <= build.flash["padding"] < 256 and 0 <= build.ram["padding"] < 256
    begin, end = build.profile_symbols["invoke"]
    assert begin != end and begin % 2 == 0


def test_m33_image_lives_at_the_secure_aliases(virtual_builds: dict[str, FirmwareBuild]) -> None:
    text = virtual_builds["virtual-cortex-m33"].map.read_text()
    assert "0x10000000" in text and "0x38000000" in text


def test_fpu_code_only_where_the_board_has_one(virtual_builds: dict[str, FirmwareBuild]) -> None:
    # Soft-float Cortex-M3 links libgcc's float division; the FPU boards divide in hardware.
    m3_map = virtual_builds["virtual-cortex-m3"].map.read_text()
    m4_map = virtual_builds["virtual-cortex-m4"].map.read_text()
    assert "__aeabi_fdiv" in m3_map
    assert "__aeabi_fdiv" not in m4_map


def test_too_big_for_flash_is_refused_with_the_numbers(
    tinyfc: tuple[Path, Any], tmp_path: Path
) -> None:
    tiny = get_board("virtual-cortex-m4").model_copy(update={"flash_bytes": 8192})
    with pytest.raises(FirmwareTooLargeError, match=r"flash needs \d+ bytes but .* has 8192"):
        build_firmware(tiny, tinyfc[0], tmp_path)


def test_too_big_for_ram_is_refused_with_the_numbers(
    tinyfc: tuple[Path, Any], tmp_path: Path
) -> None:
    small = get_board("virtual-cortex-m3").model_copy(update={"ram_bytes": 32 * 1024})
    with pytest.raises(FirmwareTooLargeError, match=r"RAM needs (\d+) bytes but .* has 32768"):
        build_firmware(small, tinyfc[0], tmp_path)


def test_board_without_toolchain_is_refused(tinyfc: tuple[Path, Any], tmp_path: Path) -> None:
    with pytest.raises(FirmwareBuildError, match="toolchain"):
        build_firmware(get_board("esp32-s3-devkitc-1"), tinyfc[0], tmp_path)


def test_model_dir_without_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FirmwareBuildError, match="ts_model.h"):
        build_firmware(get_board("virtual-cortex-m4"), tmp_path, tmp_path / "out")


def test_compile_errors_name_the_file(make_tinyfc: Any, tmp_path: Path) -> None:
    model_dir = tmp_path / "broken"
    make_tinyfc(model_dir, inputs=8, outputs=2)
    (model_dir / "ts_extra.c").write_text("int broken( {\n")
    with pytest.raises(FirmwareBuildError, match="compiling ts_extra.c"):
        build_firmware(get_board("virtual-cortex-m4"), model_dir, tmp_path / "out")
