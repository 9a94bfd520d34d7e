"""Tests the profiler: exact, repeatable instruction counts and painted stack from QEMU, sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workers.boards import get_board
from workers.firmware.profile import profile

pytestmark = pytest.mark.slow  # runs QEMU


@pytest.fixture(scope="module")
def small_and_large(
    tmp_path_factory: pytest.TempPathFactory, make_tinyfc: Any
) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("profile-models")
    make_tinyfc(root / "small", inputs=64, outputs=4)
    make_tinyfc(root / "large", inputs=256, outputs=4)
    return root / "small", root / "large"


def test_instruction_counts_repeat_exactly(small_and_large: tuple[Path, Path]) -> None:
    first = profile("virtual-cortex-m4", small_and_large[0])
    second = profile("virtual-cortex-m4", small_and_large[0])
    assert first["latency"] == second["latency"]
    assert first["latency"]["stage_instructions"]["inference"] > 0
    assert first["ram"]["stack_bytes"] == second["ram"]["stack_bytes"] > 0
    assert first["probe"] == second["probe"]


def test_instructions_grow_with_the_model_and_give_an_estimate(
    small_and_large: tuple[Path, Path],
) -> None:
    small = profile("virtual-cortex-m33", small_and_large[0])
    large = profile("virtual-cortex-m33", small_and_large[1])
    # 4x the multiply-accumulates: the inner loop dominates, so close to 4x the instructions.
    inference = [m["latency"]["stage_instructions"]["inference"] for m in (small, large)]
    assert 3.0 < inference[1] / inference[0] < 4.5
    board = get_board("virtual-cortex-m33")
    latency = large["latency"]
    assert latency["ms"] == pytest.approx(
        latency["instructions"] * board.cycles_per_instruction / board.clock_hz * 1000
    )
    assert latency["instructions"] == sum(latency["stage_instructions"].values())
    assert latency["estimate"] is True and "virtual-cortex-m33" in latency["method"]
    flash = large["flash"]
    assert flash["parts"]["model_weights"] == 256 * 4 + 4 * 4
    assert flash["model_bytes"] > small["flash"]["model_bytes"]
    assert flash["total_bytes"] == flash["model_bytes"] + flash["code_bytes"] + flash["data_bytes"]
    assert 0 < large["ram"]["stack_bytes"] < large["ram"]["stack_reserved_bytes"]
    assert large["fits"] is True


def test_physical_board_is_measured_on_its_cores_virtual_board(
    small_and_large: tuple[Path, Path],
) -> None:
    result = profile("nucleo-l4r5zi", small_and_large[0])
    assert result["measured_on"] == "virtual-cortex-m4"
    assert result["latency"]["clock_hz"] == 120_000_000
    assert result["flash_limit_bytes"] == 2 * 1024 * 1024


def test_board_without_emulator_cannot_be_profiled(small_and_large: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="esp32-s3"):
        profile("esp32-s3-devkitc-1", small_and_large[0])
