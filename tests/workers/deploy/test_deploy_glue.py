"""The impulse DSP glue (ts_impulse_dsp.c, host gcc) gives the studio's numpy features.

Tolerance: as the DSP blocks document it (workers/dsp/c/ts_dsp.h): raw is exact; every other
feature within 1e-4 of the numpy value, relative to max(|numpy|, floor), where the floor is the
window's scale for flatten's location statistics, 1 for dimensionless moments, log powers,
cepstra and [0, 1] energies, and the axis's largest power for linear powers.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from workers.deploy.glue import (
    ImpulseSpecError,
    numpy_features,
    write_impulse_dsp,
)
from workers.dsp import DspParamError
from workers.dsp.c_config import C_DIR

TOLERANCE = 1e-4
MOTION = {"window_ms": 2000, "stride_ms": 1000, "frequency_hz": 10, "zero_pad": True}
AUDIO = {"window_ms": 1000, "stride_ms": 500, "frequency_hz": 16000, "zero_pad": True}

# (id, impulse input, DSP blocks, signal): BasicMotions windows have 6 axes, audio 1.
IMPULSES: list[tuple[str, dict[str, Any], list[dict[str, Any]], str]] = [
    ("raw", MOTION, [{"block": "raw", "params": {"scale-axes": 2.0}}], "motion"),
    ("flatten", MOTION, [{"block": "flatten", "params": {}}], "motion"),
    (
        "spectral",
        MOTION,
        [{"block": "spectral-analysis", "params": {"filter-type": "low", "filter-cutoff": 3.0}}],
        "motion",
    ),
    (
        "spectral+flatten+raw",
        MOTION,
        [
            {
                "block": "spectral-analysis",
                "params": {"fft-length": 32, "spectral-power-edges": [0.5, 1.5, 3.0, 5.0]},
            },
            {"block": "flatten", "params": {"skewness": False, "scale-axes": 0.5}},
            {"block": "raw", "params": {}},
        ],
        "motion",
    ),
    ("mfcc", AUDIO, [{"block": "mfcc", "params": {}}], "audio"),
    ("mfe", AUDIO, [{"block": "mfe", "params": {}}], "audio"),
]

HARNESS = r"""
#include <stdio.h>
#include "ts_impulse_dsp.h"

int main(int argc, char **argv)
{
    static float window[TS_DSP_INPUT_VALUES];
    static float features[TS_DSP_OUTPUT_VALUES];
    if (argc != 3) return 2;
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) return 2;
    /* Wrong lengths are refused before any work. */
    if (ts_impulse_dsp_run(window, TS_DSP_INPUT_VALUES - 1, features, TS_DSP_OUTPUT_VALUES) !=
        TS_DSP_ERR_LENGTH) return 4;
    if (ts_impulse_dsp_run(window, TS_DSP_INPUT_VALUES, features, TS_DSP_OUTPUT_VALUES + 1) !=
        TS_DSP_ERR_LENGTH) return 4;
    while (fread(window, sizeof(float), TS_DSP_INPUT_VALUES, in) == TS_DSP_INPUT_VALUES) {
        const int rc = ts_impulse_dsp_run(window, TS_DSP_INPUT_VALUES, features,
                                          TS_DSP_OUTPUT_VALUES);
        if (rc != 0) { fprintf(stderr, "ts_impulse_dsp_run: %d\n", rc); return 3; }
        if (ts_impulse_dsp_features() != features) return 5;
        fwrite(features, sizeof(float), TS_DSP_OUTPUT_VALUES, out);
    }
    fclose(in);
    fclose(out);
    return 0;
}
"""


@pytest.fixture(scope="module")
def dsp_object(tmp_path_factory: pytest.TempPathFactory, tools: Any) -> Path:
    """ts_dsp.c compiled once for the host."""
    obj = tmp_path_factory.mktemp("dsp") / "ts_dsp.o"
    tools.run(["gcc", "-std=c99", "-O2", "-Wall", "-Werror", "-c", C_DIR / "ts_dsp.c", "-o", obj])
    return obj


def c_features(
    glue_dir: Path, dsp_object: Path, windows: np.ndarray, tools: Any, n_features: int
) -> np.ndarray:
    """Features of `windows` computed by the glue built for the host."""
    (glue_dir / "harness.c").write_text(HARNESS)
    exe = glue_dir / "harness"
    tools.run(
        [
            "gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{glue_dir}", f"-I{C_DIR}",
            glue_dir / "harness.c", glue_dir / "ts_impulse_dsp.c", dsp_object, "-lm", "-o", exe,
        ]
    )  # fmt: skip
    np.ascontiguousarray(windows, dtype=np.float32).tofile(glue_dir / "in.bin")
    tools.run([exe, glue_dir / "in.bin", glue_dir / "out.bin"])
    return np.fromfile(glue_dir / "out.bin", dtype=np.float32).reshape(len(windows), n_features)


@pytest.mark.parametrize("case", IMPULSES, ids=[c[0] for c in IMPULSES])
def test_glue_features_equal_the_studio_features(
    case: tuple[str, dict[str, Any], list[dict[str, Any]], str],
    tmp_path: Path,
    dsp_object: Path,
    tools: Any,
) -> None:
    _, impulse_input, dsp_blocks, kind = case
    windows = tools.basic_motions_windows() if kind == "motion" else tools.wav_windows()
    axes = windows.shape[2]
    glue = write_impulse_dsp(
        tmp_path, impulse_input=impulse_input, dsp_blocks=dsp_blocks, axes=axes
    )
    assert glue.window_samples == windows.shape[1]
    assert glue.input_values == windows.shape[1] * axes

    expected = numpy_features(windows, impulse_input=impulse_input, dsp_blocks=dsp_blocks)
    assert glue.output_values == expected.shape[1]
    got = c_features(tmp_path, dsp_object, windows, tools, glue.output_values)
    assert np.all(np.isfinite(got))

    scale = tools.feature_floors(dsp_blocks, impulse_input["frequency_hz"], windows)
    error = np.abs(got.astype(np.float64) - expected) / np.maximum(np.abs(expected), scale)
    worst = int(np.argmax(error))
    assert error.max() <= TOLERANCE, (
        f"max error {error.max():.3g} at feature {worst % expected.shape[1]}: "
        f"numpy {expected.flat[worst]!r} C {got.flat[worst]!r}"
    )
    # Raw values pass through bit for bit, wherever they sit in the concatenation.
    for stage in glue.stages:
        if stage.block == "raw":
            part = slice(stage.offset, stage.offset + stage.config.output_floats)
            np.testing.assert_array_equal(got[:, part], expected[:, part])


def test_glue_lays_blocks_out_one_after_the_other(tmp_path: Path) -> None:
    blocks = [
        {"block": "spectral-analysis", "params": {}},
        {"block": "flatten", "params": {}},
        {"block": "raw", "params": {}},
    ]
    glue = write_impulse_dsp(tmp_path, impulse_input=MOTION, dsp_blocks=blocks, axes=6)
    sizes = [s.config.output_floats for s in glue.stages]
    assert [s.offset for s in glue.stages] == [0, sizes[0], sizes[0] + sizes[1]]
    assert glue.output_values == sum(sizes) == 6 * (3 + 8) + 6 * 7 + 20 * 6
    header = glue.header.read_text()
    assert "#define TS_DSP_INPUT_VALUES 120" in header
    assert f"#define TS_DSP_OUTPUT_VALUES {glue.output_values}" in header
    assert glue.scratch_floats == max(s.config.scratch_floats for s in glue.stages)


def test_glue_refuses_impulses_it_cannot_build(tmp_path: Path) -> None:
    with pytest.raises(DspParamError, match="unknown DSP block"):
        write_impulse_dsp(tmp_path, impulse_input=MOTION, dsp_blocks=[{"block": "fft"}], axes=3)
    with pytest.raises(DspParamError, match="fft-length"):
        write_impulse_dsp(
            tmp_path,
            impulse_input=MOTION,
            dsp_blocks=[{"block": "spectral-analysis", "params": {"fft-length": 12}}],
            axes=3,
        )
    with pytest.raises(ImpulseSpecError, match="no DSP block"):
        write_impulse_dsp(tmp_path, impulse_input=MOTION, dsp_blocks=[], axes=3)
    with pytest.raises(ImpulseSpecError, match="frequency_hz"):
        write_impulse_dsp(
            tmp_path, impulse_input={"window_ms": 100}, dsp_blocks=[{"block": "raw"}], axes=3
        )
    assert not (tmp_path / "ts_impulse_dsp.c").exists()


def test_glue_takes_the_studio_spec_objects_as_well_as_dicts(tmp_path: Path) -> None:
    # The API's ImpulseSpec exposes the input block and DSP blocks as attributes.
    spec_input = SimpleNamespace(
        window_ms=2000.0, stride_ms=1000.0, frequency_hz=10.0, zero_pad=False, padding="mean"
    )
    spec_blocks = [SimpleNamespace(block="flatten", params={"minimum": False})]
    from_objects = write_impulse_dsp(
        tmp_path / "a", impulse_input=spec_input, dsp_blocks=spec_blocks, axes=6
    )
    from_dicts = write_impulse_dsp(
        tmp_path / "b",
        impulse_input=dict(vars(spec_input)),
        dsp_blocks=[{"block": "flatten", "params": {"minimum": False}}],
        axes=6,
    )
    assert from_objects.source.read_text() == from_dicts.source.read_text()
    assert from_objects.output_values == 6 * 6
    assert from_objects.impulse_input.zero_pad is False
    assert from_objects.impulse_input.padding == from_dicts.impulse_input.padding == "mean"
