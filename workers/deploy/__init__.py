"""Deployment packaging of a trained impulse: DSP glue, C and Arduino libraries, board firmware.

Public API:
    write_impulse_dsp(out_dir, *, impulse_input, dsp_blocks, axes) -> DspGlue
    build_c_library(*, name, impulse_input, dsp_blocks, axes, axis_names, labels, tflite_int8,
                    out_zip, anomaly=None, example_window=None, example_label=None)
        -> LibraryReport
    build_arduino_library(... same ..., url=...) -> LibraryReport
    build_board_firmware(*, board_id, impulse_input, dsp_blocks, axes, labels, tflite_int8,
                         out_dir, model_name="impulse") -> (FirmwareBuild, report dict)
    Errors: ImpulseSpecError, LibraryBuildError, FirmwareUnavailableError (plus DspParamError,
    the compiler's UnsupportedModelError and the firmware's FirmwareBuildError).
"""

from __future__ import annotations

from workers.deploy.firmware import FirmwareUnavailableError, build_board_firmware
from workers.deploy.glue import DspGlue, ImpulseInput, ImpulseSpecError, write_impulse_dsp
from workers.deploy.library import (
    LibraryBuildError,
    LibraryReport,
    build_arduino_library,
    build_c_library,
)

__all__ = [
    "DspGlue",
    "FirmwareUnavailableError",
    "ImpulseInput",
    "ImpulseSpecError",
    "LibraryBuildError",
    "LibraryReport",
    "build_arduino_library",
    "build_board_firmware",
    "build_c_library",
    "write_impulse_dsp",
]
