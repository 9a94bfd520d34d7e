"""Tests the firmware's number parsing and printing (ts_text.c) compiled for the host with gcc."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[3] / "workers" / "firmware" / "src"

HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include "ts_text.h"

/* Lines "P <text>" print the parsed float32's bits (or ERR); "F <hex bits>" print the float. */
int main(void)
{
    char line[256], out[128];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        line[n] = 0;
        if (line[0] == 'P') {
            float v;
            if (ts_parse_float(line + 2, n - 2, &v) != 0) { puts("ERR"); continue; }
            unsigned int bits;
            memcpy(&bits, &v, 4);
            printf("%08x\n", bits);
        } else {
            unsigned int bits;
            sscanf(line + 2, "%x", &bits);
            float v;
            memcpy(&v, &bits, 4);
            ts_line_t t;
            ts_line_init(&t, out, sizeof out - 1);
            ts_line_float(&t, v);
            out[t.len] = 0;
            puts(out);
        }
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text")
    (root / "harness.c").write_text(HARNESS)
    binary = root / "harness"
    subprocess.run(
        ["gcc", "-O2", "-std=c99", f"-I{SRC}", str(root / "harness.c"), str(SRC / "ts_text.c"),
         "-lm", "-o", str(binary)],
        check=True,
    )  # fmt: skip
    return binary


def _run(binary: Path, lines: list[str]) -> list[str]:
    done = subprocess.run(
        [str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def _bits(values: np.ndarray) -> list[str]:
    return [f"{b:08x}" for b in values.astype(np.float32).view(np.uint32)]


def _floats(rng: np.random.Generator, count: int) -> np.ndarray:
    mantissas = rng.uniform(-10, 10, count)
    exponents = rng.integers(-40, 38, count)
    values = (mantissas * 10.0 ** exponents.astype(np.float64)).astype(np.float32)
    values = values[np.isfinite(values) & (values != 0)]
    specials = np.array([1, -1, 0.1, 0.5, 1e-3, 123456789, 3.4028235e38, 1e-45], np.float32)
    return np.concatenate([values, specials])


def test_printed_floats_read_back_to_the_same_float32(harness: Path) -> None:
    values = _floats(np.random.default_rng(1), 3000)
    printed = _run(harness, [f"F {b}" for b in _bits(values)])
    parsed = np.array([float(text) for text in printed], dtype=np.float32)
    assert np.array_equal(parsed, values)
    assert all(len(text) <= 15 for text in printed)
    assert printed[-8:-2] == ["1", "-1", "0.1", "0.5", "0.001", "1.2345679e8"]


def test_parsing_matches_python_float32_rounding(harness: Path) -> None:
    values = _floats(np.random.default_rng(2), 3000)
    texts = [str(v) for v in values]  # numpy's shortest float32 decimal
    texts += [repr(float(v)) for v in values[:500]]  # the float64 spelling of the same value
    texts += [
        "-0.0",
        "+5",
        ".5",
        "5.",
        "1E3",
        "0012.50",
        "1e-3",
        "-2.5e+2",
        "123456789012345678901",
    ]
    got = _run(harness, [f"P {t}" for t in texts])
    expected = _bits(np.array([float(t) for t in texts], dtype=np.float64).astype(np.float32))
    assert got == expected


def test_malformed_numbers_are_refused(harness: Path) -> None:
    bad = ["", "-", ".", "e5", "1e", "1.2.3", "12a", "0x10", "nan", "1,2"]
    assert _run(harness, [f"P {t}" for t in bad]) == ["ERR"] * len(bad)
