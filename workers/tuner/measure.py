"""Measured figures of one tuner candidate: the firmware a deployment builds, run in QEMU.

A board with TinyStudio's firmware port is built for itself; any other board is built for the
virtual board of its core and its figures are given for the board (its clock, its limits), as
the libraries' figures are. The budgets are compared with the "impulse" figures
(ram.impulse_bytes, flash.impulse_bytes, latency.ms) of workers/firmware/figures.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.boards import get_board
from workers.deploy.firmware import FirmwareUnavailableError, build_board_firmware
from workers.dsp.c_config import C_DIR
from workers.firmware.profile import measure

MODEL_NAME = "tuner-candidate"


def measure_candidate(
    *,
    board_id: str,
    spec: dict[str, Any],
    axes: int,
    labels: Sequence[str],
    tflite_int8: bytes,
    out_dir: Path,
    window: Sequence[float] | npt.NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """The device figures (workers.firmware.figures.device_figures) of the impulse `spec` with
    the int8 model `tflite_int8` on `board_id`, built into `out_dir`.

    `window` is the raw window (window_samples x axes values, time-major) the instructions are
    counted on; without it, the profiler's fixed probe window. The answer adds `timings`
    {build_s, measure_s}. Raises what the deployment's builders raise: FirmwareUnavailableError
    (no firmware port and no virtual board for the core), FirmwareTooLargeError,
    LibraryBuildError (model and DSP disagree), BoardNotFoundError.
    """
    board = get_board(board_id)
    built_on = board
    if not board.firmware_buildable:
        stand_in = board.core_info.profile_on
        if stand_in is None:
            raise FirmwareUnavailableError(
                board.id, board.name, board.core_info.profile_note or "no virtual board"
            )
        built_on = get_board(stand_in)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    build, report = build_board_firmware(
        board_id=built_on.id,
        impulse_input=spec["input"],
        dsp_blocks=spec["dsp"],
        axes=axes,
        labels=labels,
        tflite_int8=tflite_int8,
        out_dir=out_dir,
        model_name=MODEL_NAME,
    )
    built = time.perf_counter()
    note = None
    if built_on is not board:
        note = (
            f"Built and measured as TinyStudio's firmware for {built_on.id} ({built_on.core}), "
            f"the latency for {board.id}'s clock. {board.core_info.profile_note or ''}"
        ).strip()
    figures = measure(
        board,
        build,
        out_dir / "model",
        labels=list(labels),
        dsp_dirs=[out_dir / "dsp", C_DIR],
        window=None if window is None else np.asarray(window, np.float32).reshape(-1),
        lower_bound=report["model"].get("lower_bound"),
        note=note,
        out_dir=out_dir / "measured",
    )
    figures["timings"] = {
        "build_s": round(built - started, 3),
        "measure_s": round(time.perf_counter() - built, 3),
    }
    return figures
