"""Measures a firmware build in QEMU (painted stack, instruction counts) as device figures."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.boards import Board, get_board
from workers.firmware.build import FirmwareBuild, build_firmware
from workers.firmware.figures import device_figures
from workers.firmware.qemu import VirtualBoardSession

_PROBE_SEED = 20240601


def probe_window(info: dict[str, Any]) -> npt.NDArray[np.float32]:
    """A fixed pseudo-random window spanning the model input's quantized range.

    Instruction counts can depend on the data (saturation, ReLU branches), so the profiler always
    feeds the same window for a given model.
    """
    n = int(info["signal_values"])
    tensor = info["inputs"][0]
    scale = float(tensor.get("scale") or 0.0)
    rng = np.random.default_rng(_PROBE_SEED)
    if tensor["type"] in ("int8", "uint8", "int16") and scale > 0:
        bounds = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
        lo, hi = bounds[tensor["type"]]
        zp = int(tensor["zero_point"])
        return rng.uniform((lo - zp) * scale, (hi - zp) * scale, n).astype(np.float32)
    return rng.uniform(-1.0, 1.0, n).astype(np.float32)


def _measure_board(board: Board) -> Board:
    """The virtual board that executes the instructions standing in for `board`."""
    if board.kind == "virtual":
        return board
    target = board.core_info.profile_on
    if target is None:
        raise ValueError(
            f"cannot profile {board.id}: {board.core_info.profile_note or 'no virtual board'}"
        )
    return get_board(target)


def measure(
    target: Board,
    build: FirmwareBuild,
    model_dir: Path,
    *,
    labels: Sequence[str] | None = None,
    dsp_dirs: Sequence[Path] = (),
    window: Sequence[float] | npt.NDArray[np.float32] | None = None,
    lower_bound: int | None = None,
    note: str | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Runs `build` in QEMU and returns its device figures for `target`.

    `build` is the firmware for `target` or for the virtual board with its core (cores.json
    `profile_on`). A virtual target runs its own image, so the figures are exactly what its
    `info` prints. The sizes are always `build`'s; when `build` is a physical board's image, the
    stack and the instruction count come from the same sources built for the virtual board
    into `out_dir`. Latency is an estimate: instructions x the core's cycles per instruction /
    the target's clock. The answer's `probe` is the classification of `window` (a fixed
    pseudo-random window when None), handed to the board as a host file (`classify file`):
    through the emulated UART a 1-s audio window took seconds.
    """
    measured_on = _measure_board(target)
    with tempfile.TemporaryDirectory(prefix="tinystudio-measure-") as tmp:
        run_build = build
        if build.board_id != measured_on.id:
            run_build = build_firmware(
                measured_on,
                model_dir,
                Path(out_dir) if out_dir is not None else Path(tmp),
                labels=labels,
                dsp_dirs=dsp_dirs,
            )
        with VirtualBoardSession(
            measured_on, run_build.elf, count_instructions=True, regions=run_build.profile_symbols
        ) as session:
            info = session.info()
            probe = probe_window(info) if window is None else np.asarray(window, np.float32)
            answer = session.classify_file(probe)
            counts = session.instruction_counts()
    # The last visit of each region is the probe's; the boot pass measuring the stack ran first.
    instructions = {
        "dsp": counts.get("dsp", [0])[-1],
        "inference": counts.get("invoke", [0])[-1],
    }
    if "anomaly" in run_build.profile_symbols:  # the anomaly block scores after the model
        instructions["anomaly"] = counts.get("anomaly", [0])[-1]
    figures = device_figures(
        target=target,
        measured_on=measured_on,
        build=build,
        arena_bytes=int(info["ram"]["arena_bytes"]),
        stack_bytes=int(info["ram"]["stack_bytes"]),
        instructions=instructions,
        lower_bound=lower_bound,
        note=note,
    )
    figures["probe"] = {
        "label": answer["label"],
        "scores": answer["scores"],
        "anomaly": answer.get("anomaly"),
    }
    return figures


def profile(
    board: Board | str,
    model_dir: Path,
    *,
    out_dir: Path | None = None,
    labels: Sequence[str] | None = None,
    dsp_dirs: Sequence[Path] = (),
    window: Sequence[float] | npt.NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """Builds the firmware for `board` with the compiled model in `model_dir` and measures it
    (see measure()); a board without a firmware port is sized by its core's virtual board."""
    target = get_board(board) if isinstance(board, str) else board
    sized_on = target if target.firmware_buildable else _measure_board(target)
    with tempfile.TemporaryDirectory(prefix="tinystudio-profile-") as tmp:
        build_dir = Path(out_dir) if out_dir is not None else Path(tmp)
        build = build_firmware(
            sized_on, model_dir, build_dir / sized_on.id, labels=labels, dsp_dirs=dsp_dirs
        )
        return measure(
            target,
            build,
            model_dir,
            labels=labels,
            dsp_dirs=dsp_dirs,
            window=window,
            out_dir=build_dir / "measured",
        )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m workers.firmware.profile BOARD MODEL_DIR`: prints the profile as JSON."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("board", help="board id from the catalog, e.g. virtual-cortex-m4")
    parser.add_argument("model_dir", type=Path, help="directory with ts_model.h/.c")
    parser.add_argument("--labels", help="comma-separated class names")
    parser.add_argument("--out-dir", type=Path, help="keep the build here")
    args = parser.parse_args(argv)
    labels = args.labels.split(",") if args.labels else None
    result = profile(args.board, args.model_dir, out_dir=args.out_dir, labels=labels)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
