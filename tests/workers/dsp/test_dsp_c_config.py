"""C config initialisers written from block parameters (workers/dsp/c_config.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from workers.dsp import DspParamError
from workers.dsp.c_config import c_block_config, c_float
from workers.dsp.filters import butterworth_sections

C_DIR = Path(__file__).resolve().parents[3] / "workers" / "dsp" / "c"


def test_c_float_literals_round_trip_to_the_same_float32() -> None:
    assert c_float(1) == "1.0f"
    assert c_float(-52) == "-52.0f"
    assert c_float(1e-10) == "1.00000001e-10f"
    for value in [0.98, 1 / 3, 9.81, 123456.789, -2.5e-7]:
        text = c_float(value)
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == np.float32(value)
    with pytest.raises(ValueError):
        c_float(float("nan"))


def test_spectral_config_carries_the_designed_filter_and_kept_bins() -> None:
    cfg = c_block_config(
        "spectral-analysis",
        {"filter-type": "low", "filter-cutoff": 10.0, "filter-order": 4},
        62.5,
        125,
        3,
    )
    assert cfg.struct_type == "ts_dsp_spectral_config_t"
    assert cfg.function == "ts_dsp_spectral"
    sos = butterworth_sections("low", 4, 10.0, 62.5)
    assert ".section_count = 2u" in cfg.initializer
    assert f".b0 = {c_float(sos[0][0])}" in cfg.initializer
    assert f".a2 = {c_float(sos[1][5])}" in cfg.initializer
    # 16-point FFT at 62.5 Hz: bins 3.9 Hz apart, bins 1..3 are at or below the 10 Hz cut-off.
    assert ".first_bin = 1u, .bin_count = 3u, .band_count = 0u" in cfg.initializer
    assert cfg.output_floats == 3 * (3 + 3)
    assert cfg.scratch_floats == 125 + (2 * 16 + 2) + 2 * 9
    assert cfg.window_floats == 375
    assert cfg.declaration("dsp").startswith("static const ts_dsp_spectral_config_t dsp = {")


def test_mfcc_config_has_the_frames_and_mel_corners() -> None:
    cfg = c_block_config("mfcc", {}, 16000.0, 16000, 1)
    text = cfg.initializer
    for field in (
        ".frame_samples = 320u",
        ".frame_stride = 160u",
        ".frame_count = 99u",
        ".fft_length = 256u",
        ".num_filters = 32u",
        ".num_cepstral = 13u",
        ".win_size = 101u",
        ".pre_cof = 0.980000019f",
        ".mel_bins = { 4u, ",
    ):
        assert field in text
    assert cfg.output_floats == 99 * 13
    assert cfg.scratch_floats == (2 * 256 + 2) + 129 + 32 + 13 * 32 + 99 * 13


def test_config_refuses_what_the_block_refuses() -> None:
    with pytest.raises(DspParamError) as err:
        c_block_config("mfe", {}, 16000.0, 100, 1)
    assert err.value.field == "frame_length"
    with pytest.raises(DspParamError):
        c_block_config("no-such-block", {}, 100.0, 100, 1)


def test_c_blocks_refuse_a_config_they_cannot_run(tmp_path: Path) -> None:
    program = tmp_path / "bad.c"
    program.write_text(r"""
#include "ts_dsp.h"
int main(void)
{
    static float window[64], out[4096], scratch[4096];
    const ts_dsp_spectral_config_t not_pow2 = { .window_samples = 64u, .axes = 1u,
        .scale = 1.0f, .fft_length = 48u, .hop = 24u, .first_bin = 1u, .bin_count = 4u };
    const ts_dsp_spectrogram_config_t too_many_frames = { .window_samples = 64u, .axes = 1u,
        .frame_samples = 32u, .frame_stride = 16u, .frame_count = 4u, .fft_length = 32u,
        .noise_floor_db = -52.0f };
    const ts_dsp_flatten_config_t nothing_on = { .window_samples = 64u, .axes = 1u,
        .scale = 1.0f };
    int bad = 0;
    bad += ts_dsp_spectral(&not_pow2, window, out, scratch) == TS_DSP_ERR_CONFIG;
    bad += ts_dsp_spectrogram(&too_many_frames, window, out, scratch) == TS_DSP_ERR_CONFIG;
    bad += ts_dsp_flatten(&nothing_on, window, out, scratch) == TS_DSP_ERR_CONFIG;
    return bad == 3 ? 0 : 1;
}
""")
    exe = tmp_path / "bad"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
            str(C_DIR),
            str(program),
            str(C_DIR / "ts_dsp.c"),
            "-o",
            str(exe),
            "-lm",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert subprocess.run([str(exe)], timeout=30, check=False).returncode == 0


def test_scratch_macros_give_the_sizes_the_configs_report(tmp_path: Path) -> None:
    spectral = c_block_config("spectral-analysis", {"fft-length": 64}, 100.0, 200, 3)
    mfcc = c_block_config("mfcc", {}, 16000.0, 16000, 1)
    mfe = c_block_config("mfe", {"fft_length": 512}, 16000.0, 16000, 1)
    spectrogram = c_block_config("spectrogram", {}, 16000.0, 16000, 1)
    checks = {
        "TS_DSP_SPECTRAL_SCRATCH_FLOATS(200, 64)": spectral.scratch_floats,
        "TS_DSP_MFCC_SCRATCH_FLOATS(256, 32, 13, 99)": mfcc.scratch_floats,
        "TS_DSP_MFE_SCRATCH_FLOATS(512)": mfe.scratch_floats,
        "TS_DSP_SPECTROGRAM_SCRATCH_FLOATS(128)": spectrogram.scratch_floats,
    }
    # A negative array size fails the build: a compile-time equality check in C99.
    lines = ['#include "ts_dsp.h"']
    lines += [
        f"typedef char check{i}[({macro}) == {value}u ? 1 : -1];"
        for i, (macro, value) in enumerate(checks.items())
    ]
    source = tmp_path / "macros.c"
    source.write_text("\n".join(lines) + "\nint main(void) { return 0; }\n")
    proc = subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-I", str(C_DIR), "-fsyntax-only", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
