"""Serial firmware of a trained impulse for a catalogued board: model C + DSP glue + firmware."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workers.boards import get_board
from workers.compiler import compile_model
from workers.deploy.anomaly import AnomalyStateError, write_anomaly
from workers.deploy.glue import write_impulse_dsp
from workers.deploy.library import LibraryBuildError, model_macro
from workers.dsp.c_config import C_DIR
from workers.firmware.build import FirmwareBuild, build_firmware
from workers.firmware.profile import measure

# What the studio offers instead when it cannot build firmware for a board.
LIBRARY_ALTERNATIVES = ("c-library", "arduino-library")
# Libraries run on any core: their figures are measured on this virtual board (Cortex-M4F, the
# most common TinyML microcontroller class).
LIBRARY_REFERENCE_BOARD = "virtual-cortex-m4"


class FirmwareUnavailableError(RuntimeError):
    """TinyStudio cannot build firmware for this board; the C or Arduino library can be used."""

    def __init__(self, board_id: str, board_name: str, reason: str) -> None:
        super().__init__(
            f"TinyStudio cannot build firmware for {board_name} ({board_id}): {reason}. "
            "The C library and the Arduino library run this impulse on it, built with the "
            "board's own toolchain (Arduino IDE, PlatformIO or the vendor SDK)."
        )
        self.board_id = board_id
        self.reason = reason
        self.alternatives = LIBRARY_ALTERNATIVES


def build_board_firmware(
    *,
    board_id: str,
    impulse_input: Any,
    dsp_blocks: Sequence[Any],
    axes: int,
    labels: Sequence[str],
    tflite_int8: bytes,
    out_dir: Path,
    model_name: str = "impulse",
    anomaly: Mapping[str, Any] | None = None,
) -> tuple[FirmwareBuild, dict[str, Any]]:
    """Builds the serial firmware (workers/firmware) running the impulse on `board_id`.

    Writes out_dir/model (compiled model), out_dir/dsp (impulse glue; with `anomaly`, a K-means
    anomaly state of workers.learn, also the anomaly block ts_anomaly.h/.c that `classify` then
    scores every window with) and out_dir/firmware (image, map). Raises
    FirmwareUnavailableError for boards without a toolchain or firmware port,
    BoardNotFoundError for unknown ids, FirmwareTooLargeError (with the numbers) when the image
    does not fit, LibraryBuildError when model, DSP, labels and anomaly state disagree.
    """
    board = get_board(board_id)
    if not board.firmware_buildable:
        raise FirmwareUnavailableError(
            board.id, board.name, board.firmware_unavailable_reason or "no firmware port"
        )
    out_dir = Path(out_dir)
    model_dir = out_dir / "model"
    glue_dir = out_dir / "dsp"
    compiled = compile_model(bytes(tflite_int8), model_dir)
    glue = write_impulse_dsp(
        glue_dir, impulse_input=impulse_input, dsp_blocks=dsp_blocks, axes=axes
    )
    model_header = (model_dir / "ts_model.h").read_text()
    inputs = model_macro(model_header, "TS_MODEL_INPUT0_ELEMENTS")
    outputs = model_macro(model_header, "TS_MODEL_OUTPUT0_ELEMENTS")
    if inputs != glue.output_values:
        raise LibraryBuildError(
            f"the DSP blocks give {glue.output_values} features but the model takes {inputs}"
        )
    if len(labels) != outputs:
        raise LibraryBuildError(f"{len(labels)} labels for a model with {outputs} outputs")
    block = None
    if anomaly is not None:
        try:
            block = write_anomaly(glue_dir, anomaly, features=glue.output_values)
        except AnomalyStateError as exc:
            raise LibraryBuildError(str(exc)) from None
    build = build_firmware(
        board,
        model_dir,
        out_dir / "firmware",
        model_name=model_name,
        labels=list(labels),
        dsp_dirs=[glue_dir, C_DIR],
    )
    report: dict[str, Any] = {
        "board": board.id,
        "board_name": board.name,
        "flash_method": board.flash_method,
        "model": compiled.to_dict(),
        "dsp": {
            "blocks": [s.block for s in glue.stages],
            "signal_values": glue.input_values,
            "feature_values": glue.output_values,
            "scratch_floats": glue.scratch_floats,
        },
        "labels": list(labels),
        "anomaly": block.as_dict() if block else None,
        "firmware": build.as_dict(),
    }
    return build, report


def firmware_figures(
    build: FirmwareBuild,
    out_dir: Path,
    *,
    labels: Sequence[str],
    lower_bound: int | None,
    window: Any = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The device figures of a build_board_firmware() result in `out_dir` (see
    workers.firmware.profile.measure): `window` is the raw window the latency is counted on."""
    return measure(
        get_board(build.board_id),
        build,
        out_dir / "model",
        labels=list(labels),
        dsp_dirs=[out_dir / "dsp", C_DIR],
        window=window,
        lower_bound=lower_bound,
        note=note,
        out_dir=out_dir / "measured",
    )


def library_figures(
    *,
    kind: str,
    out_dir: Path,
    model_name: str,
    labels: Sequence[str],
    window: Any = None,
    **impulse: Any,
) -> dict[str, Any]:
    """The device figures of a C or Arduino library: the same model, DSP and run_classifier()
    built as firmware for the reference virtual board and measured there (`impulse` holds
    build_board_firmware's impulse_input, dsp_blocks, axes, tflite_int8 and anomaly)."""
    board = get_board(LIBRARY_REFERENCE_BOARD)
    build, report = build_board_firmware(
        board_id=board.id, labels=labels, out_dir=out_dir, model_name=model_name, **impulse
    )
    note = (
        f"The {kind} measured as TinyStudio's firmware on {board.id} ({board.core}): the same "
        "model, DSP and run_classifier(). Its static RAM includes the firmware's serial and "
        "replay buffers, which an application replaces with its own."
    )
    return firmware_figures(
        build,
        out_dir,
        labels=labels,
        lower_bound=report["model"].get("lower_bound"),
        window=window,
        note=note,
    )
