"""Deployment packaging of a trained impulse: DSP glue, C and Arduino libraries, board firmware.

Public API:
    write_impulse_dsp(out_dir, *, impulse_input, dsp_blocks, axes) -> DspGlue
    build_c_library(*, name, impulse_input, dsp_blocks, axes, axis_names, labels, tflite_int8,
                    out_zip, anomaly=None, example_window=None, example_label=None)
        -> LibraryReport
    build_arduino_library(... same ..., url=...) -> LibraryReport
    build_board_firmware(*, board_id, impulse_input, dsp_blocks, axes, labels, tflite_int8,
                         out_dir, model_name="impulse", anomaly=None)
        -> (FirmwareBuild, report dict)
    firmware_figures(build, out_dir, *, labels, lower_bound, window=None, note=None)
        -> device figures dict (RAM, flash, latency measured in QEMU)
    library_figures(*, kind, out_dir, model_name, labels, window=None, **impulse)
        -> the same figures for a library, measured on LIBRARY_REFERENCE_BOARD
    write_anomaly(out_dir, anomaly, *, features) -> AnomalyBlock   (ts_anomaly.h/.c)
    Errors: ImpulseSpecError, LibraryBuildError (an anomaly state that does not fit, too),
    FirmwareUnavailableError, AnomalyStateError (write_anomaly) (plus DspParamError,
    the compiler's UnsupportedModelError and the firmware's FirmwareBuildError).
"""

from __future__ import annotations

from workers.deploy.anomaly import AnomalyBlock, AnomalyStateError, write_anomaly
from workers.deploy.firmware import (
    LIBRARY_REFERENCE_BOARD,
    FirmwareUnavailableError,
    build_board_firmware,
    firmware_figures,
    library_figures,
)
from workers.deploy.glue import DspGlue, ImpulseInput, ImpulseSpecError, write_impulse_dsp
from workers.deploy.library import (
    LibraryBuildError,
    LibraryReport,
    build_arduino_library,
    build_c_library,
)

__all__ = [
    "AnomalyBlock",
    "AnomalyStateError",
    "DspGlue",
    "FirmwareUnavailableError",
    "LIBRARY_REFERENCE_BOARD",
    "ImpulseInput",
    "ImpulseSpecError",
    "LibraryBuildError",
    "LibraryReport",
    "build_arduino_library",
    "build_board_firmware",
    "build_c_library",
    "firmware_figures",
    "library_figures",
    "write_anomaly",
    "write_impulse_dsp",
]
