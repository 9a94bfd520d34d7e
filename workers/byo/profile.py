"""A model profiled on every board of the catalog from one build per core: the model runs in
TinyStudio's firmware on the virtual board of each core (its input handed over unprocessed),
which gives its arena, painted stack, code, weights and instructions per inference; each board
then gets those figures with its own clock and limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers.boards import Board, list_boards
from workers.compiler.tflite_reader import read_model
from workers.tuner.measure import measure_candidate

# The pseudo-impulse feeding the model its input as is: one axis at 1 kHz, one window of as
# many samples as the input has values, through the raw block (no processing).
_FREQUENCY_HZ = 1000.0


class ProfileError(ValueError):
    """A model the firmware cannot run as it is, in words."""


def _spec(values: int) -> dict[str, Any]:
    window_ms = values * 1000.0 / _FREQUENCY_HZ
    return {
        "input": {
            "window_ms": window_ms, "stride_ms": window_ms, "frequency_hz": _FREQUENCY_HZ,
            "zero_pad": False,
        },
        "dsp": [{"block": "raw", "params": {}}],
    }  # fmt: skip


def _core_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The model's own figures from a firmware measurement."""
    parts = figures["flash"]["parts"]
    ram = figures["ram"]
    code, weights = int(parts.get("model_code", 0)), int(parts.get("model_weights", 0))
    return {
        "measured_on": figures["measured_on"],
        "arena_bytes": int(ram["arena_bytes"]),
        "stack_bytes": int(ram["stack_bytes"]),
        "ram_bytes": int(ram["arena_bytes"]) + int(ram["stack_bytes"]),
        "code_bytes": code,
        "weights_bytes": weights,
        "flash_bytes": code + weights,
        "instructions": int(figures["latency"]["stage_instructions"]["inference"]),
    }


def _board_row(board: Board, core: dict[str, Any] | None, reason: str | None) -> dict[str, Any]:
    """One board's line of the table: its core's figures with its clock and limits."""
    row: dict[str, Any] = {
        "board_id": board.id, "board_name": board.name, "core": board.core,
        "clock_hz": board.clock_hz, "board_ram_bytes": board.ram_bytes,
        "board_flash_bytes": board.flash_bytes, "measured": core is not None,
        "note": reason or board.core_info.profile_note,
    }  # fmt: skip
    if core is None:
        return row
    latency_ms = board.latency_estimate_s(core["instructions"]) * 1000.0
    return {
        **row, **core, "latency_ms": latency_ms, "cpi": board.cycles_per_instruction,
        "fits": core["ram_bytes"] <= board.ram_bytes and core["flash_bytes"] <= board.flash_bytes,
    }  # fmt: skip


def profile_model(
    tflite_int8: bytes,
    out_dir: Path,
    *,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """{"cores": {core: figures}, "boards": [row per catalog board]}; ProfileError when the
    model has more than one input or output (the firmware runs one of each)."""
    model = read_model(tflite_int8)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ProfileError(
            f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; the "
            "firmware that profiles it runs models of one input and one output"
        )
    values = model.tensors[model.inputs[0]].elements
    outputs = model.tensors[model.outputs[0]].elements
    boards = list_boards()
    stand_ins = sorted({b.core_info.profile_on for b in boards if b.core_info.profile_on})
    cores: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    for done, board_id in enumerate(stand_ins):
        if progress is not None:
            progress(done / len(stand_ins), f"building and running the model on {board_id}")
        try:
            figures = measure_candidate(
                board_id=board_id, spec=_spec(values), axes=1,
                labels=[f"output {i}" for i in range(outputs)], tflite_int8=tflite_int8,
                out_dir=Path(out_dir) / board_id,
            )  # fmt: skip
        except Exception as exc:  # a core that cannot run it is named in its rows
            failures[board_id] = f"{type(exc).__name__}: {exc}"
            continue
        cores[board_id] = _core_figures(figures)
    rows = []
    for board in boards:
        stand_in = board.core_info.profile_on
        if stand_in is None:
            rows.append(_board_row(board, None, board.core_info.profile_note))
        elif stand_in in failures:
            rows.append(_board_row(board, None, f"on {stand_in}: {failures[stand_in]}"))
        else:
            rows.append(_board_row(board, cores[stand_in], None))
    return {"measured_on": cores, "boards": rows}
