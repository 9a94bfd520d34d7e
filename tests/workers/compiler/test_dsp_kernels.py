"""The kernels' fast paths (Cortex-M4 DSP build, requantization) stay exact on awkward shapes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from workers.compiler.kernel_files import KERNEL_DIR, kernel_sources
from workers.compiler.tflite_reader import read_model
from workers.compiler.verify import random_inputs, run_reference

HAS_ARM = shutil.which("arm-none-eabi-gcc") is not None and shutil.which("qemu-system-arm")
needs_arm = pytest.mark.skipif(not HAS_ARM, reason="needs arm-none-eabi-gcc and qemu-system-arm")

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def _reference_mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier (gemmlowp double rounding), in Python integers."""
    x = _wrap32(x * (1 << max(shift, 0)))
    if x == multiplier == INT32_MIN:
        high = INT32_MAX
    else:
        product = x * multiplier
        nudged = product + ((1 << 30) if product >= 0 else 1 - (1 << 30))
        high = abs(nudged) // (1 << 31) * (1 if nudged >= 0 else -1)  # C truncation
    exponent = max(-shift, 0)
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if high < 0 else 0)
    return (high >> exponent) + (1 if (high & mask) > threshold else 0)


def _requantize_cases(count: int) -> list[tuple[int, int, int]]:
    """Edge values (extremes, -1, exact powers of two) and random ones of every magnitude."""
    rng = np.random.default_rng(5)
    edges_x = [0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 1 << 30]
    edges_m = [1 << 30, (1 << 30) + 1, INT32_MAX, 1518500250]
    cases = [(x, m, s) for x in edges_x for m in edges_m for s in (0, -1, -2, -17, -31)]
    while len(cases) < count:
        magnitude = int(rng.integers(0, 32))
        x = int(rng.integers(-(2**magnitude), 2**magnitude, endpoint=True))
        x = max(INT32_MIN, min(INT32_MAX, x))
        m = 1 << 30 if rng.random() < 0.1 else int(rng.integers(1 << 30, INT32_MAX))
        shift = -int(rng.integers(0, 32))
        if rng.random() < 0.1:
            shift = int(rng.integers(1, 8))
            x >>= shift + 1  # the reference's x << shift must not overflow
        cases.append((x, m, shift))
    return cases


_REQUANTIZE_C = r"""
#include <stdint.h>
#include "ts_kernels.h"
#include "cases.h"

/* Number of cases whose result differs from the reference, and the first one. */
static int check(int32_t *first)
{
    int bad = 0, i;
    *first = -1;
    for (i = 0; i < CASES; ++i) {
        if (ts_multiply_by_quantized_multiplier(xs[i], ms[i], shifts[i]) != expected[i]) {
            if (bad++ == 0) {
                *first = i;
            }
        }
    }
    return bad;
}
"""

_HOST_MAIN = r"""
#include <stdio.h>
int main(void)
{
    int32_t first;
    int bad = check(&first);
    printf("bad %d first %d\n", bad, (int)first);
    return 0;
}
"""

# Bare-metal QEMU mps2-an386 program: vector table, result through semihosting, exit.
_M4_MAIN = r"""
extern uint32_t __stack_top__[];
void Reset_Handler(void);
static void hang(void) { for (;;) { } }
__attribute__((section(".vectors"), used))
void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__, Reset_Handler, hang, hang, hang, hang, hang,
    0, 0, 0, 0, hang, hang, 0, hang, hang,
};
static void semihost(uint32_t call, const void *arg)
{
    register uint32_t r0 __asm__("r0") = call;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}
static char *put_int(char *p, int32_t v)
{
    char digits[12];
    int n = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    if (v < 0) *p++ = '-';
    do { digits[n++] = (char)('0' + u % 10u); u /= 10u; } while (u);
    while (n) *p++ = digits[--n];
    return p;
}
void Reset_Handler(void)
{
    static char line[64];
    static const uint32_t exit_block[2] = {0x20026u, 0u};
    char *p = line;
    int32_t first;
    int bad = check(&first);
    *p++ = 'b'; *p++ = 'a'; *p++ = 'd'; *p++ = ' ';
    p = put_int(p, bad);
    *p++ = ' '; *p++ = 'f'; *p++ = 'i'; *p++ = 'r'; *p++ = 's'; *p++ = 't'; *p++ = ' ';
    p = put_int(p, first);
    *p++ = '\n';
    *p = 0;
    semihost(0x04u, line);
    semihost(0x20u, exit_block);
    hang();
}
"""

_M4_LINKER = """
MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
         RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 4M }
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text .text.*) *(.rodata .rodata.*) . = ALIGN(4); } > FLASH
  .bss (NOLOAD) : { *(.data .data.* .bss .bss.*) } > RAM
  .stack (NOLOAD) : { . = ALIGN(8); . = . + 0x1000; __stack_top__ = .; } > RAM
}
"""


def _write_requantize_sources(work: Path, cases: list[tuple[int, int, int]]) -> None:
    def array(name: str, values: list[int]) -> str:
        body = ", ".join(f"(int32_t){v}" if v != INT32_MIN else "INT32_MIN" for v in values)
        return f"static const int32_t {name}[CASES] = {{{body}}};\n"

    xs, ms, shifts = (list(column) for column in zip(*cases, strict=True))
    expected = [_reference_mbqm(*case) for case in cases]
    (work / "cases.h").write_text(
        f"#define CASES {len(cases)}\n"
        + array("xs", xs)
        + array("ms", ms)
        + array("shifts", shifts)
        + array("expected", expected)
    )


def _result(text: str) -> tuple[int, int]:
    line = next(x for x in text.splitlines() if x.startswith("bad "))
    _, bad, _, first = line.split()
    return int(bad), int(first)


def test_requantization_matches_gemmlowp_on_host(tmp_path: Path) -> None:
    cases = _requantize_cases(20000)
    _write_requantize_sources(tmp_path, cases)
    (tmp_path / "check.c").write_text(_REQUANTIZE_C + _HOST_MAIN)
    exe = tmp_path / "check"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-O2",
            "-I",
            str(KERNEL_DIR),
            "-I",
            str(tmp_path),
            "-o",
            str(exe),
            str(tmp_path / "check.c"),
            *map(str, kernel_sources()),
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    bad, first = _result(subprocess.run([str(exe)], capture_output=True, text=True).stdout)
    assert (bad, first) == (0, -1), cases[first]


@needs_arm
def test_requantization_matches_gemmlowp_on_cortex_m4_dsp(tmp_path: Path) -> None:
    from workers.compiler.cortex_m import CFLAGS, M4_FLAGS

    cases = _requantize_cases(6000)
    _write_requantize_sources(tmp_path, cases)
    (tmp_path / "check.c").write_text(_REQUANTIZE_C + _M4_MAIN)
    (tmp_path / "check.ld").write_text(_M4_LINKER)
    elf = tmp_path / "check.elf"
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *M4_FLAGS,
            *CFLAGS,
            "-DTS_KERNELS_USE_DSP=1",
            "-I",
            str(KERNEL_DIR),
            "-I",
            str(tmp_path),
            "-nostartfiles",
            "--specs=nano.specs",
            "-Wl,--gc-sections",
            "-T",
            str(tmp_path / "check.ld"),
            "-o",
            str(elf),
            str(tmp_path / "check.c"),
            *map(str, kernel_sources()),
            "-lm",
            "-lc",
            "-lgcc",
        ],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [
            "qemu-system-arm",
            "-M",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "null",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
            str(elf),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    bad, first = _result(run.stdout + run.stderr)
    assert (bad, first) == (0, -1), cases[first]


def _shape_cases() -> dict[str, tuple[Callable[[object], object], tuple[int, ...]]]:
    """Shapes that reach every branch of the DSP fast paths: channel counts not multiples of
    four, input runs with a tail, odd widths, borders, 3x3 and other windows."""
    from keras import layers

    return {
        # Pixel pairs with an odd last pixel, a run tail (6 % 4) and three plain filters.
        "pointwise_odd_channels": (lambda x: layers.Conv2D(7, 1, activation="relu")(x), (3, 5, 6)),
        # Pixel pairs two input pixels apart (stride 2), an odd output width.
        "pointwise_stride2": (lambda x: layers.Conv2D(8, 1, strides=2)(x), (4, 9, 4)),
        # A one-row window gathered into a run (ts_conv_pixel_run), with a run tail.
        "conv_one_row_gathered": (lambda x: layers.Conv2D(6, (1, 3))(x), (4, 7, 3)),
        # 3x3 inside, border windows from the tap list, two tail channels.
        "depthwise3x3_same": (
            lambda x: layers.DepthwiseConv2D(3, padding="same", activation="relu")(x),
            (5, 6, 10),
        ),
        # Max pooling four channels a word: 2x2 windows with a channel tail, and 3x3 windows
        # cut by padding over more channels than the portable group.
        "max_pool2x2_tail": (lambda x: layers.MaxPooling2D(2)(layers.Conv2D(6, 3)(x)), (9, 8, 2)),
        "max_pool3x3_same_wide": (
            lambda x: layers.MaxPooling2D(3, strides=2, padding="same")(layers.Conv2D(70, 1)(x)),
            (7, 6, 3),
        ),
        # A 5x3 window with dilation: border tap lists of many shapes.
        "depthwise5x3_dilated": (
            lambda x: layers.DepthwiseConv2D((5, 3), dilation_rate=2, padding="same")(x),
            (9, 7, 8),
        ),
    }


@needs_arm
@pytest.mark.parametrize("name", list(_shape_cases()))
def test_dsp_build_is_exact_on_awkward_shapes(
    name: str, keras_to_tflite: Callable[..., bytes]
) -> None:
    from workers.compiler.cortex_m import run_on_cortex_m4

    build, shape = _shape_cases()[name]
    tflite = keras_to_tflite(build, shape, seed=2)
    model = read_model(tflite)
    inputs = [model.tensors[i] for i in model.inputs]
    outputs = [model.tensors[i] for i in model.outputs]
    for sample in random_inputs(inputs, 2, seed=7):
        run = run_on_cortex_m4(tflite, sample, dsp=True)
        assert b"".join(run.outputs) == run_reference(tflite, [sample], inputs, outputs)[0]
