"""Profiles a compiled model on a board: flash/RAM from the linked image, instructions from QEMU."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.boards import Board, get_board
from workers.firmware.build import build_firmware
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


def profile(
    board: Board | str,
    model_dir: Path,
    *,
    out_dir: Path | None = None,
    labels: Sequence[str] | None = None,
    dsp_dirs: Sequence[Path] = (),
    window: Sequence[float] | npt.NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """Builds the firmware for `board`, runs one classify in QEMU and reports cost and size.

    Instructions come from the insncount plugin under `-icount shift=0`; latency is an estimate,
    instructions x the core's cycles-per-instruction factor / the board's clock. For a physical
    board the instructions are counted on the virtual board with the same core (see cores.json)
    and the flash/RAM split comes from that build, which differs from the real board's image
    only by its UART/timer port.
    """
    target = get_board(board) if isinstance(board, str) else board
    measured_on = _measure_board(target)
    with tempfile.TemporaryDirectory(prefix="tinystudio-profile-") as tmp:
        build_dir = Path(out_dir) if out_dir is not None else Path(tmp)
        # No replay buffer: profiling never streams, and the RAM figure should be the model's.
        build = build_firmware(
            measured_on, model_dir, build_dir, labels=labels, dsp_dirs=dsp_dirs, replay_values=1
        )
        with VirtualBoardSession(
            measured_on, build.elf, count_instructions=True, regions=build.profile_symbols
        ) as session:
            info = session.info()
            probe = probe_window(info) if window is None else np.asarray(window, np.float32)
            answer = session.classify(probe)
            counts = session.instruction_counts()
            after = session.info()
    instructions = {
        "dsp": counts.get("dsp", [0])[-1],
        "inference": counts.get("invoke", [0])[-1],
    }
    if "anomaly" in build.profile_symbols:  # the anomaly block scores after the model
        instructions["anomaly"] = counts.get("anomaly", [0])[-1]
    instructions["total"] = sum(instructions.values())
    cpi = target.cycles_per_instruction
    latency_ms = {
        name: target.latency_estimate_s(count) * 1000.0 for name, count in instructions.items()
    }
    fits = build.flash_bytes <= target.flash_bytes and build.ram_bytes <= target.ram_bytes
    return {
        "board": target.id,
        "measured_on": measured_on.id,
        "qemu_machine": measured_on.qemu_machine,
        "core": target.core,
        "clock_hz": target.clock_hz,
        "cycles_per_instruction": cpi,
        "cpi_source": target.core_info.cpi_source,
        "instructions": instructions,
        "latency_ms": latency_ms,
        "latency_is_estimate": True,
        "flash": {"total": build.flash_bytes, "limit": target.flash_bytes, **build.flash},
        "ram": {
            "total": build.ram_bytes,
            "limit": target.ram_bytes,
            **build.ram,
            "stack_high_water": int(after["stack_used_bytes"]),
            # data + bss + the deepest stack reached, rather than the whole reserved stack
            "in_use": build.ram_bytes - build.stack_bytes + int(after["stack_used_bytes"]),
        },
        "fits": fits,
        "arena_bytes": int(info["arena_bytes"]),
        "probe": {
            "label": answer["label"],
            "scores": answer["scores"],
            "anomaly": answer.get("anomaly"),
        },
    }


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
