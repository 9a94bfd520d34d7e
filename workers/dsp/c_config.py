"""C initialisers of the ts_dsp.h config structs, from a block's parameters and its input."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.dsp import get_block
from workers.dsp.audio import MAX_FILTERS
from workers.dsp.flatten import STATISTICS
from workers.dsp.spectral import fft_hop, spectral_bands, spectral_filter
from workers.dsp.spectrum import frame_layout, mel_bins

# The C twin of the blocks: a generated library ships these two files beside its own.
C_DIR = Path(__file__).resolve().parent / "c"
C_SOURCES: tuple[Path, ...] = (C_DIR / "ts_dsp.h", C_DIR / "ts_dsp.c")

# Mirrors of the C header's limits; c_block_config refuses what the C cannot hold.
C_MAX_SECTIONS = 4
C_MAX_BANDS = 32
C_MAX_FILTERS = 128
assert MAX_FILTERS <= C_MAX_FILTERS


@dataclass(frozen=True)
class CBlockConfig:
    """What a generated C file needs to run one DSP block on one window."""

    block: str
    struct_type: str  # e.g. "ts_dsp_mfcc_config_t"
    function: str  # e.g. "ts_dsp_mfcc"
    initializer: str  # a C99 designated initialiser, e.g. "{ .window_samples = 16000u, ... }"
    output_floats: int  # floats the function writes (== product of the block's output shape)
    scratch_floats: int  # floats of scratch the function needs (== ts_dsp_*_scratch_floats)
    window_floats: int  # floats of one input window (window_samples * axes)

    def declaration(self, name: str) -> str:
        """A `static const` definition of the config called `name`."""
        return f"static const {self.struct_type} {name} = {self.initializer};"


def c_float(value: float) -> str:
    """A C float literal that rounds to exactly the float32 nearest `value`."""
    v = float(np.float32(value))
    if not math.isfinite(v):
        raise ValueError(f"cannot write {value!r} as a C float literal")
    text = f"{v:.9g}"
    if not any(ch in text for ch in ".e"):
        text += ".0"
    return text + "f"


def _u(value: int) -> str:
    return f"{int(value)}u"


def _fields(items: list[tuple[str, str]]) -> str:
    return "{ " + ", ".join(f".{name} = {value}" for name, value in items) + " }"


def _array(values: list[str]) -> str:
    return "{ " + ", ".join(values) + " }"


def c_block_config(
    block_name: str, params: dict[str, Any], frequency_hz: float, window_samples: int, axes: int
) -> CBlockConfig:
    """The C config of `block_name` for windows of window_samples x axes at frequency_hz.

    Raises DspParamError for parameters or an input the block refuses (as output_shape does).
    """
    block = get_block(block_name)
    checked = block.validate_params(params)
    shape = block.output_shape(window_samples, axes, frequency_hz, checked)
    output_floats = int(np.prod(shape))
    common = [("window_samples", _u(window_samples)), ("axes", _u(axes))]

    if block.name == "raw":
        items = [*common, ("scale", c_float(checked["scale-axes"]))]
        scratch = 0
    elif block.name == "flatten":
        items = [*common, ("scale", c_float(checked["scale-axes"]))]
        items += [(name, _u(1 if checked[name] else 0)) for name, _, _ in STATISTICS]
        scratch = 0
    elif block.name == "spectral-analysis":
        items, scratch = _spectral_items(checked, frequency_hz, window_samples)
        items = [*common, *items]
    else:
        items, scratch = _audio_items(block.name, checked, frequency_hz, window_samples)
        items = [*common, *items]

    c_name = "spectral" if block.name == "spectral-analysis" else block.name
    return CBlockConfig(
        block=block.name,
        struct_type=f"ts_dsp_{c_name}_config_t",
        function=f"ts_dsp_{c_name}",
        initializer=_fields(items),
        output_floats=output_floats,
        scratch_floats=scratch,
        window_floats=window_samples * axes,
    )


def _spectral_items(
    params: dict[str, Any], frequency_hz: float, window_samples: int
) -> tuple[list[tuple[str, str]], int]:
    n = params["fft-length"]
    sos = spectral_filter(params, frequency_hz)
    sections = (
        []
        if sos is None
        else [
            _fields(
                [
                    ("b0", c_float(s[0])),
                    ("b1", c_float(s[1])),
                    ("b2", c_float(s[2])),
                    ("a1", c_float(s[4])),
                    ("a2", c_float(s[5])),
                ]
            )
            for s in sos
        ]
    )
    if len(sections) > C_MAX_SECTIONS:
        raise ValueError(f"at most {C_MAX_SECTIONS} biquad sections fit the C config")
    bands = spectral_bands(params, frequency_hz)
    items = [("scale", c_float(params["scale-axes"])), ("section_count", _u(len(sections)))]
    if sections:
        items.append(("sections", _array(sections)))
    items += [("fft_length", _u(n)), ("hop", _u(fft_hop(params)))]
    if params["spectral-power-edges"]:
        if len(bands) > C_MAX_BANDS:
            raise ValueError(f"at most {C_MAX_BANDS} power-edge bands fit the C config")
        items += [
            ("first_bin", "0u"),
            ("bin_count", "0u"),
            ("band_count", _u(len(bands))),
            ("band_start", _array([_u(a) for a, _ in bands])),
            ("band_end", _array([_u(b) for _, b in bands])),
        ]
    else:
        items += [
            ("first_bin", _u(bands[0][0])),
            ("bin_count", _u(len(bands))),
            ("band_count", "0u"),
        ]
    items.append(("do_log", _u(1 if params["do-log"] else 0)))
    scratch = window_samples + (2 * n + 2) + 2 * (n // 2 + 1)
    return items, scratch


def _audio_items(
    name: str, params: dict[str, Any], frequency_hz: float, window_samples: int
) -> tuple[list[tuple[str, str]], int]:
    n = params["fft_length"]
    frame_samples, stride, count = frame_layout(
        window_samples, frequency_hz, params["frame_length"], params["frame_stride"]
    )
    items = [
        ("frame_samples", _u(frame_samples)),
        ("frame_stride", _u(stride)),
        ("frame_count", _u(count)),
        ("fft_length", _u(n)),
    ]
    fft_scratch = 2 * n + 2
    if name == "spectrogram":
        items.append(("noise_floor_db", c_float(params["noise_floor_db"])))
        return items, fft_scratch
    filters = params["num_filters"]
    corners = mel_bins(filters, n, frequency_hz, params["low_frequency"], params["high_frequency"])
    items.append(("num_filters", _u(filters)))
    bins_field = ("mel_bins", _array([_u(b) for b in corners]))
    if name == "mfe":
        items += [("noise_floor_db", c_float(params["noise_floor_db"])), bins_field]
        return items, fft_scratch + n // 2 + 1
    ceps = params["num_cepstral"]
    items += [
        ("num_cepstral", _u(ceps)),
        ("win_size", _u(params["win_size"])),
        ("pre_cof", c_float(params["pre_cof"])),
        bins_field,
    ]
    return items, fft_scratch + n // 2 + 1 + filters + ceps * filters + count * ceps
