"""Runs a compiled model on a virtual Cortex-M4 (QEMU mps2-an386): outputs, instructions, code.

A bare-metal program (our own vector table, reset handler and semihosting exit) runs one
`ts_model_invoke()` between two marker functions; the firmware's QEMU instruction-counting
plugin counts the instructions in between with `-icount shift=0`, so the count is exact and
repeatable. The same program prints the outputs, so the Cortex-M build can be checked against
LiteRT's reference just like the host build.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.compiler.codegen import generate, write_sources
from workers.compiler.kernel_files import kernel_sources
from workers.compiler.tflite_reader import read_model

M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
CFLAGS = ["-std=c99", "-O2", "-ffunction-sections", "-fdata-sections", "-ffp-contract=off"]
QEMU_MACHINE = ("mps2-an386", "cortex-m4")

# A bare-metal program for QEMU's mps2-an386: vector table, reset, one invoke between two
# marker functions, outputs printed through semihosting, semihosting exit.
_BENCH_C = r"""
#include <stdint.h>
#include "ts_model.h"
#include "bench_input.h"

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[], __stack_top__[], __stack_bottom__[];
/* Painted below the caller's stack pointer before the invoke; the deepest word no longer
 * holding it is how far the invoke's frames reached. */
#define TS_BENCH_PAINT 0xC5A3E17Bu
void Reset_Handler(void);
static void hang(void) { for (;;) { } }

__attribute__((section(".vectors"), used))
void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__, Reset_Handler, hang, hang, hang, hang, hang,
    0, 0, 0, 0, hang, hang, 0, hang, hang,
};

__attribute__((noinline)) void ts_bench_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void ts_bench_end(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void ts_bench_trace(int32_t op, const void *data, int32_t bytes)
{
    (void)op; (void)data; (void)bytes;
    __asm__ volatile("" ::: "memory");
}

static void semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit. */
    uint32_t block[2] = {0x20026u, (uint32_t)code};
    register uint32_t r0 __asm__("r0") = 0x20u;
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    hang();
}

static void semihost_write0(const char *text)
{
    register uint32_t r0 __asm__("r0") = 0x04u;
    register const char *r1 __asm__("r1") = text;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
}

/* Prints every output's bytes in hex, one line each ("out <hex>"). */
static void print_output(void)
{
    static char line[2 * TS_BENCH_MAX_OUTPUT_BYTES + 8];
    static const char digits[] = "0123456789abcdef";
    int i, k, o;
    for (o = 0; o < TS_MODEL_OUTPUT_COUNT; ++o) {
        const uint8_t *out = (const uint8_t *)ts_model_output(o);
        k = 0;
        line[k++] = 'o'; line[k++] = 'u'; line[k++] = 't'; line[k++] = ' ';
        for (i = 0; i < ts_bench_output_bytes[o]; ++i) {
            line[k++] = digits[out[i] >> 4];
            line[k++] = digits[out[i] & 15];
        }
        line[k++] = '\n';
        line[k] = 0;
        semihost_write0(line);
    }
}

/* "stack <bytes>" through semihosting. */
static void print_stack(uint32_t bytes)
{
    char line[24] = "stack ";
    char digits[12];
    int k = 6, n = 0;
    do {
        digits[n++] = (char)('0' + bytes % 10u);
        bytes /= 10u;
    } while (bytes);
    while (n) line[k++] = digits[--n];
    line[k++] = '\n';
    line[k] = 0;
    semihost_write0(line);
}

void Reset_Handler(void)
{
    uint32_t *src = __data_load__, *dst, *sp, *p;
    uint8_t *in;
    int i, k, n;
    for (dst = __data_start__; dst < __data_end__;) *dst++ = *src++;
    for (dst = __bss_start__; dst < __bss_end__;) *dst++ = 0u;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    n = 0;
    for (k = 0; k < TS_MODEL_INPUT_COUNT; ++k) {
        in = (uint8_t *)ts_model_input(k);
        for (i = 0; i < ts_bench_input_bytes[k]; ++i) in[i] = ts_bench_input[n++];
    }
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* This loop calls nothing, so nothing below sp is in use while it paints. */
    for (p = __stack_bottom__; p < sp; ++p) *(volatile uint32_t *)p = TS_BENCH_PAINT;
    ts_bench_begin();
    i = ts_model_invoke();
    ts_bench_end();
    for (p = __stack_bottom__; p < sp && *(volatile uint32_t *)p == TS_BENCH_PAINT; ++p) { }
    print_stack((uint32_t)((uintptr_t)sp - (uintptr_t)p));
    print_output();
    semihost_exit(i);
}
"""

_LINKER = """
MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
         RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 4M }
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text .text.*) *(.rodata .rodata.*) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  .data : { . = ALIGN(4); __data_start__ = .; *(.data .data.*) . = ALIGN(4);
            __data_end__ = .; } > RAM AT > FLASH
  __data_load__ = LOADADDR(.data);
  .bss (NOLOAD) : { . = ALIGN(4); __bss_start__ = .; *(.bss .bss.*) *(COMMON) . = ALIGN(4);
                    __bss_end__ = .; } > RAM
  .stack (NOLOAD) : { . = ALIGN(8); __stack_bottom__ = .; . = . + 0x4000; __stack_top__ = .; } > RAM
}
"""


class CortexMUnavailable(RuntimeError):
    """arm-none-eabi-gcc or qemu-system-arm is missing."""


@dataclass
class CortexMRun:
    """One inference of a compiled model on the virtual Cortex-M4."""

    instructions: int
    code_bytes: int  # machine code of the model and kernels (.text), weights excluded
    stack_bytes: int  # painted: how deep the invoke's frames reached below its caller's
    outputs: list[bytes]
    per_op_instructions: list[int] = field(default_factory=list)
    # From the compiler's frame sizes and the call graph; None where it cannot be bounded.
    stack_bound_bytes: int | None = None


def _functions(path: Path, sizes: bool = False) -> dict[str, int]:
    """The functions (.text symbols) `path` defines, with their sizes when asked."""
    command = ["arm-none-eabi-nm", "--defined-only", *(["-S"] if sizes else []), str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == (4 if sizes else 3) and parts[-2] in ("T", "t"):
            found[parts[-1]] = int(parts[1], 16) if sizes else 0
    return found


def code_bytes(objects: list[Path], elf: Path) -> int:
    """Bytes of machine code that the linked `elf` holds from `objects` (the model and the
    kernels): kernels a model does not call are left out by the linker, and so here."""
    names = set().union(*(_functions(obj) for obj in objects))
    linked = _functions(elf, sizes=True)
    return sum(size for name, size in linked.items() if name in names)


_FUNCTION = re.compile(r"^[0-9a-f]+ <([\w.]+)>:$")
_CALL = re.compile(r"\s(bl|b|b\.w|b\.n)\s+[0-9a-f]+ <([\w.]+)>$")
_PUSH = re.compile(r"\s(?:push|stmdb)(?:\.w)?\s+(?:sp!,\s*)?\{([^}]*)\}")
_VPUSH = re.compile(r"\svpush\s+\{([^}]*)\}")
_SUB_SP = re.compile(r"\ssub(?:\.w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")


def _register_count(listing: str) -> int:
    count = 0
    for part in listing.split(","):
        bounds = [int(re.sub(r"\D", "", b) or 0) for b in part.split("-")]
        count += bounds[-1] - bounds[0] + 1 if len(bounds) == 2 else 1
    return count


def _prologue_bytes(lines: list[str]) -> int:
    """Stack a function without a compiler frame record (libc, libgcc) takes, read from its
    first instructions: pushed registers and the stack pointer lowered."""
    total = 0
    for line in lines[:8]:
        if match := _PUSH.search(line):
            total += 4 * _register_count(match.group(1))
        elif match := _VPUSH.search(line):
            # d registers are eight bytes, s registers four.
            size = 8 if match.group(1).lstrip().startswith("d") else 4
            total += size * _register_count(match.group(1))
        elif match := _SUB_SP.search(line):
            total += int(match.group(1))
    return total


def _clone_key(name: str) -> str:
    """GCC's specialized copies are "f.constprop.0.isra.0" in the image and
    "f.constprop.isra" in its stack records: one key for both."""
    return re.sub(r"\.\d+", "", name)


def stack_bound(work: Path, elf: Path, entry: str) -> int | None:
    """The most stack `entry` can use: its frame (GCC's -fstack-usage records in `work`) plus
    the deepest chain of calls in the linked `elf`. None where no bound exists: a frame of
    dynamic size, an indirect call or recursion."""
    frames: dict[str, int | None] = {}
    for record in work.glob("*.su"):
        for line in record.read_text().splitlines():
            where, size, kind = line.rsplit("\t", 2)
            frames[_clone_key(where.rsplit(":", 1)[-1])] = None if "dynamic" in kind else int(size)
    listing = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", str(elf)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    bodies: dict[str, list[str]] = {}
    current: list[str] = []
    for line in listing.splitlines():
        if match := _FUNCTION.match(line):
            current = bodies.setdefault(match.group(1), [])
        elif line.strip():
            current.append(line)
    known: dict[str, int | None] = {}

    def depth(name: str, open_calls: frozenset[str]) -> int | None:
        if name in open_calls or name not in bodies:
            return None  # recursion, or a call into something not linked
        if name in known:
            return known[name]
        frame = frames.get(_clone_key(name), _prologue_bytes(bodies[name]))
        deepest = 0
        for line in bodies[name]:
            if re.search(r"\sblx\s+r\d+", line):
                known[name] = None
                return None
            match = _CALL.search(line)
            if match and match.group(2) != name:
                below = depth(match.group(2), open_calls | {name})
                if below is None:
                    known[name] = None
                    return None
                deepest = max(deepest, below)
        known[name] = None if frame is None else frame + deepest
        return known[name]

    return depth(entry, frozenset())


def _input_header(inputs: list[bytes], output_sizes: list[int]) -> str:
    data = b"".join(inputs)
    values = ", ".join(str(b) for b in data) or "0"
    return (
        f"static const uint8_t ts_bench_input[{max(len(data), 1)}] = {{{values}}};\n"
        f"static const int ts_bench_input_bytes[] = {{{', '.join(str(len(i)) for i in inputs)}}};\n"
        f"static const int ts_bench_output_bytes[] = {{{', '.join(map(str, output_sizes))}}};\n"
        f"#define TS_BENCH_MAX_OUTPUT_BYTES {max(output_sizes)}\n"
    )


def run_on_cortex_m4(
    tflite_bytes: bytes,
    inputs: list[np.ndarray],
    dsp: bool = False,
    per_op: bool = False,
    plugin: Path | None = None,
) -> CortexMRun:
    """Compiles the model for Cortex-M4, runs one inference in QEMU, counts its instructions."""
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            raise CortexMUnavailable(f"{tool} not found")
    if plugin is None:
        from workers.firmware.qemu import insncount_plugin

        plugin = insncount_plugin()
    model = read_model(tflite_bytes)
    generated = generate(model, "ts_model")
    with tempfile.TemporaryDirectory(prefix="ts-m4-") as tmp:
        work = Path(tmp)
        write_sources(generated, work)
        (work / "bench.c").write_text(_BENCH_C)
        (work / "bench.ld").write_text(_LINKER)
        (work / "bench_input.h").write_text(
            _input_header([a.tobytes() for a in inputs], [t.nbytes for t in generated.outputs])
        )
        flags = [*M4_FLAGS, *CFLAGS, "-fstack-usage", "-I", str(work)]
        flags.append(f"-DTS_KERNELS_USE_DSP={1 if dsp else 0}")
        if per_op:
            (work / "trace.h").write_text(
                "#include <stdint.h>\nvoid ts_bench_trace(int32_t, const void *, int32_t);\n"
            )
            flags += ["-DTS_MODEL_TRACE=ts_bench_trace", "-include", str(work / "trace.h")]
        objects = []
        for source in (work / "ts_model.c", *kernel_sources(work), work / "bench.c"):
            obj = source.with_suffix(".o")
            subprocess.run(
                ["arm-none-eabi-gcc", *flags, "-c", "-o", str(obj), str(source)],
                check=True,
                capture_output=True,
            )
            objects.append(obj)
        elf = work / "bench.elf"
        subprocess.run(
            [
                "arm-none-eabi-gcc",
                *M4_FLAGS,
                "-nostartfiles",
                "--specs=nano.specs",
                "-Wl,--gc-sections",
                "-T",
                str(work / "bench.ld"),
                "-o",
                str(elf),
                *map(str, objects),
                "-lm",
                "-lc",
                "-lgcc",
            ],
            check=True,
            capture_output=True,
        )
        symbols = subprocess.run(
            ["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        addresses = {}
        for line in symbols.splitlines():
            match = re.match(r"([0-9a-f]+) [Tt] (ts_bench_\w+)$", line)
            if match:
                addresses[match.group(2)] = int(match.group(1), 16) & ~1
        counts = work / "counts.txt"
        spec = (
            f"{plugin},out={counts},"
            f"region=invoke:{addresses['ts_bench_begin']:#x}:{addresses['ts_bench_end']:#x}"
        )
        if per_op:
            # Cumulative count from the start of invoke to the end of each op.
            spec += f",region=op:{addresses['ts_bench_begin']:#x}:{addresses['ts_bench_trace']:#x}"
        machine, cpu = QEMU_MACHINE
        proc = subprocess.run(
            [
                "qemu-system-arm",
                "-M",
                machine,
                "-cpu",
                cpu,
                "-nographic",
                "-monitor",
                "none",
                "-serial",
                "null",
                "-semihosting-config",
                "enable=on,target=native",
                "-icount",
                "shift=0",
                "-plugin",
                spec,
                "-kernel",
                str(elf),
            ],
            check=True,
            timeout=900,
            capture_output=True,
            text=True,
        )
        lines = [x.strip() for x in (proc.stdout + proc.stderr).splitlines()]
        outputs = [bytes.fromhex(x[4:]) for x in lines if x.startswith("out ")]
        stack = next(int(x.split()[1]) for x in lines if x.startswith("stack "))
        counted = counts.read_text().splitlines()
        instructions = next(int(x.split()[1]) for x in counted if x.startswith("invoke "))
        cumulative = [int(x.split()[1]) for x in counted if x.startswith("op ")]
        per_op_counts = [b - a for a, b in zip([0, *cumulative], cumulative, strict=False)]
        return CortexMRun(
            instructions=instructions,
            code_bytes=code_bytes(objects[:-1], elf),
            stack_bytes=stack,
            stack_bound_bytes=stack_bound(work, elf, "ts_model_invoke"),
            outputs=outputs,
            per_op_instructions=per_op_counts,
        )
