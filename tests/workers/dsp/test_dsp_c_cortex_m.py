"""ts_dsp.c builds warning-free for Cortex-M cores with arm-none-eabi-gcc, configs included."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workers.dsp.c_config import c_block_config

C_DIR = Path(__file__).resolve().parents[3] / "workers" / "dsp" / "c"
WARNINGS = [
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wshadow",
    "-Wdouble-promotion",
    "-Werror",
]
CORES = {
    "cortex-m4f": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
}


@pytest.mark.parametrize("core", sorted(CORES))
def test_ts_dsp_compiles_without_warnings(core: str, tmp_path: Path) -> None:
    obj = tmp_path / "ts_dsp.o"
    proc = subprocess.run(
        [
            "arm-none-eabi-gcc",
            *CORES[core],
            "-O2",
            *WARNINGS,
            "-c",
            str(C_DIR / "ts_dsp.c"),
            "-o",
            str(obj),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    size = (
        subprocess.run(
            ["arm-none-eabi-size", str(obj)], capture_output=True, text=True, check=True, timeout=30
        )
        .stdout.splitlines()[1]
        .split()
    )
    text, data, bss = (int(v) for v in size[:3])
    # Every block together stays a few KB of code and no RAM of its own.
    assert text < 12 * 1024 and data == 0 and bss == 0


def test_generated_configs_compile_for_cortex_m4(tmp_path: Path) -> None:
    configs = [
        c_block_config(
            "spectral-analysis", {"filter-type": "low", "filter-cutoff": 5.0}, 100.0, 200, 3
        ),
        c_block_config("mfcc", {}, 16000.0, 16000, 1),
        c_block_config("mfe", {}, 16000.0, 16000, 1),
        c_block_config("spectrogram", {}, 16000.0, 16000, 1),
        c_block_config("flatten", {"kurtosis": False}, 10.0, 30, 2),
        c_block_config("raw", {}, 100.0, 100, 3),
    ]
    lines = ['#include "ts_dsp.h"']
    calls = []
    for i, cfg in enumerate(configs):
        lines.append(cfg.declaration(f"cfg{i}"))
        lines.append(f"static float out{i}[{cfg.output_floats}];")
        lines.append(f"static float scratch{i}[{max(cfg.scratch_floats, 1)}];")
        calls.append(f"    rc |= {cfg.function}(&cfg{i}, window, out{i}, scratch{i});")
    lines.append("int run_all(const float *window);")
    lines.append(
        "int run_all(const float *window)\n{\n    int rc = 0;\n"
        + "\n".join(calls)
        + "\n    return rc;\n}"
    )
    source = tmp_path / "configs.c"
    source.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [
            "arm-none-eabi-gcc",
            *CORES["cortex-m4f"],
            "-O2",
            *WARNINGS,
            "-I",
            str(C_DIR),
            "-c",
            str(source),
            "-o",
            str(tmp_path / "configs.o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
