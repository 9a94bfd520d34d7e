"""The C blocks run on an emulated Cortex-M4F (QEMU mps2-an386) and agree with numpy there too.

The image is built here with a minimal vector table and linker script (newlib's semihosting
crt0 does the rest); outputs come back as the float32 bit patterns over semihosting stdout.
The device build contracts multiply-adds into FMA instructions, so its rounding differs from
the host build's; the tolerance and its near-zero floors are the parity test's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workers.dsp import BLOCKS
from workers.dsp.c_config import c_block_config, c_float

C_DIR = Path(__file__).resolve().parents[3] / "workers" / "dsp" / "c"
M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
TOLERANCE = 1e-4

STARTUP = r"""
#include <stdint.h>
extern void _start(void);
extern uint32_t __stack_top;
void reset_handler(void);
static void fault_handler(void) { for (;;) { } }
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler,
    fault_handler,
};
void reset_handler(void)
{
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* FPU on (CP10, CP11) before any float */
    __asm volatile("dsb\n isb");
    _start();
    for (;;) { }
}
"""

LINKER_SCRIPT = """
MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M }
ENTRY(reset_handler)
SECTIONS {
  .vectors : { KEEP(*(.vectors)) } > FLASH
  .text : { *(.text*) *(.init) *(.fini) *(.rodata*) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  .preinit_array : { PROVIDE_HIDDEN(__preinit_array_start = .); KEEP(*(.preinit_array*))
                     PROVIDE_HIDDEN(__preinit_array_end = .); } > FLASH
  .init_array : { PROVIDE_HIDDEN(__init_array_start = .); KEEP(*(SORT(.init_array.*)))
                  KEEP(*(.init_array*)) PROVIDE_HIDDEN(__init_array_end = .); } > FLASH
  .fini_array : { PROVIDE_HIDDEN(__fini_array_start = .); KEEP(*(.fini_array*))
                  PROVIDE_HIDDEN(__fini_array_end = .); } > FLASH
  .data : { *(.data*) . = ALIGN(4); } > RAM
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; } > RAM
  end = .; __end__ = .;
  __stack_top = ORIGIN(RAM) + LENGTH(RAM);
  __stack = __stack_top;
}
"""


def test_blocks_on_cortex_m4_match_numpy(
    tmp_path: Path,
    motion: Callable[..., np.ndarray],
    audio: Callable[..., np.ndarray],
    basic_motions: np.ndarray,
    parity_floors: Callable[..., np.ndarray],
) -> None:
    cases = [
        ("flatten", {}, 10.0, basic_motions[:3]),
        (
            "spectral-analysis",
            {"filter-type": "low", "filter-cutoff": 3.0},
            10.0,
            basic_motions[:3],
        ),
        (
            "spectral-analysis",
            {"filter-type": "high", "filter-cutoff": 2.0, "fft-length": 64},
            100.0,
            motion(2, 200, 3, 100.0, seed=41),
        ),
        ("mfcc", {}, 16000.0, audio(1, 16000, 1, 16000.0, seed=42)),
        ("mfe", {}, 16000.0, audio(1, 16000, 1, 16000.0, seed=43)),
        ("spectrogram", {}, 16000.0, audio(1, 16000, 1, 16000.0, seed=44)),
    ]
    configs = [c_block_config(b, p, fs, w.shape[1], w.shape[2]) for b, p, fs, w in cases]
    lines = [
        "#include <stdio.h>",
        "#include <string.h>",
        '#include "ts_dsp.h"',
        "static void print_floats(const float *v, size_t n)",
        "{",
        "    for (size_t i = 0; i < n; i++) {",
        "        unsigned bits; memcpy(&bits, &v[i], sizeof bits);",
        '        printf("%08x%c", bits, (i % 16u == 15u || i + 1u == n) ? 10 : 32);',
        "    }",
        "}",
    ]
    body = []
    scratch = max(max(c.scratch_floats for c in configs), 1)
    output = max(c.output_floats for c in configs)
    for i, ((_, _, _, windows), cfg) in enumerate(zip(cases, configs, strict=True)):
        lines.append(cfg.declaration(f"cfg{i}"))
        values = ", ".join(c_float(v) for v in windows.ravel())
        lines.append(f"static const float windows{i}[] = {{ {values} }};")
        body.append(
            f"    for (size_t w = 0; w < {len(windows)}u; w++) {{\n"
            f"        if ({cfg.function}(&cfg{i}, windows{i} + w * {cfg.window_floats}u, out,"
            f" scratch) != 0) return {10 + i};\n"
            f"        print_floats(out, {cfg.output_floats}u);\n    }}"
        )
    lines.append(f"static float out[{output}];\nstatic float scratch[{scratch}];")
    lines.append("int main(void)\n{\n" + "\n".join(body) + "\n    return 0;\n}")
    (tmp_path / "main.c").write_text("\n".join(lines) + "\n")
    (tmp_path / "startup.c").write_text(STARTUP)
    (tmp_path / "link.ld").write_text(LINKER_SCRIPT)
    elf = tmp_path / "dsp.elf"
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *M4_FLAGS,
            "-O2",
            "-std=c99",
            "-I",
            str(C_DIR),
            "--specs=rdimon.specs",
            "-T",
            str(tmp_path / "link.ld"),
            str(tmp_path / "startup.c"),
            str(tmp_path / "main.c"),
            str(C_DIR / "ts_dsp.c"),
            "-lm",
            "-o",
            str(elf),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    run = subprocess.run(
        [
            "qemu-system-arm",
            "-M",
            "mps2-an386",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-kernel",
            str(elf),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    words = run.stdout.split()
    device = np.array([int(w, 16) for w in words], dtype=np.uint32).view(np.float32)
    offset = 0
    for (block, params, fs, windows), cfg in zip(cases, configs, strict=True):
        count = len(windows) * cfg.output_floats
        got = device[offset : offset + count].astype(np.float64)
        offset += count
        reference = BLOCKS[block].process(windows, fs, params).reshape(len(windows), -1)
        floors = parity_floors(block, params, fs, windows, reference).ravel()
        reference = reference.ravel().astype(np.float64)
        error = np.abs(got - reference) / np.maximum(np.abs(reference), floors)
        assert error.max() <= TOLERANCE, (block, error.max())
    assert offset == len(device)
