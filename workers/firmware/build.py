"""Builds the TinyStudio serial firmware for a catalogued board and measures its flash and RAM."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workers.boards import Board
from workers.firmware.objcache import compile_object

FIRMWARE_SRC = Path(__file__).parent / "src"
LINKER_SCRIPT = FIRMWARE_SRC / "cortex_m.ld"
PORT_SOURCES = {"mps2-cmsdk": "ts_port_mps2.c"}
APP_SOURCES = ("ts_startup.c", "ts_text.c", "ts_classifier.c", "ts_app.c", "ts_info.c")
DEFAULT_STACK_BYTES = 16 * 1024
DEFAULT_REPLAY_VALUES = 16 * 1024
# The profiling markers of ts_classifier.c, watched by the QEMU insncount plugin.
PROFILE_REGIONS = {
    "dsp": ("ts_profile_dsp_begin", "ts_profile_dsp_end"),
    "invoke": ("ts_profile_invoke_begin", "ts_profile_invoke_end"),
    "anomaly": ("ts_profile_anomaly_begin", "ts_profile_anomaly_end"),  # with an anomaly block
}
# The impulse's anomaly block (workers/deploy/anomaly.py), beside the DSP glue when it has one.
ANOMALY_SOURCE = "ts_anomaly.c"
# Firmware buffers reported under their own heading rather than as firmware RAM.
# The raw window is the signal an application fills from its sensor: its own part, outside the
# impulse's RAM (as the application owns that buffer, in whatever format it records).
NAMED_BUFFERS = {
    "ts_window": "signal_window",
    "ts_features": "dsp_buffers",
    "ts_replay": "replay",
}


class FirmwareBuildError(RuntimeError):
    """The firmware could not be built (toolchain missing, compile or link error)."""


class FirmwareTooLargeError(FirmwareBuildError):
    """The linked image does not fit the board's flash or RAM."""


@dataclass(frozen=True)
class FirmwareBuild:
    """A linked firmware image and where its bytes go."""

    board_id: str
    elf: Path
    bin: Path
    map: Path
    flash_bytes: int  # text + data (the bytes written to flash)
    ram_bytes: int  # data + bss + the reserved stack region (what the linker places)
    data_bss_bytes: int  # data + bss: arena and every other static buffer, without the stack
    # flash split: model_weights, model_code, dsp_code, firmware_code, data_init, padding
    # (+ anomaly: the anomaly block's code and constants, when it is linked)
    flash: dict[str, int]
    # RAM split: arena, signal_window, dsp_buffers, replay, firmware, stack, padding (+ anomaly)
    ram: dict[str, int]
    stack_bytes: int
    profile_symbols: dict[str, tuple[int, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        d = asdict(self)
        for key in ("elf", "bin", "map"):
            d[key] = str(d[key])
        return d


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FirmwareBuildError(
            f"{name} not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi"
        )
    return path


def _run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FirmwareBuildError(f"{what} failed:\n{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _c_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid C string literal for printable text


def _write_config(
    board: Board,
    out_dir: Path,
    model_name: str,
    labels: Sequence[str] | None,
    replay_values: int,
) -> None:
    assert board.firmware is not None
    fw = board.firmware
    lines = [
        "/* ts_build_config.h - written by workers/firmware/build.py; do not edit. */",
        "#ifndef TS_BUILD_CONFIG_H",
        "#define TS_BUILD_CONFIG_H",
        f"#define TS_BOARD_ID {_c_string(board.id)}",
        f"#define TS_MODEL_NAME {_c_string(model_name)}",
        f"#define TS_UART_BASE 0x{fw.uart_base:08X}u",
        f"#define TS_UART_RX_IRQ {fw.uart_rx_irq}",
        f"#define TS_TIMER_BASE 0x{fw.timer_base:08X}u",
        f"#define TS_PCLK_HZ {fw.peripheral_clock_hz}u",
        f"#define TS_SEMIHOSTING {1 if board.kind == 'virtual' else 0}",
        f"#define TS_TIMING {_c_string('virtual' if board.kind == 'virtual' else 'hardware')}",
        f"#define TS_REPLAY_CAPACITY {replay_values}",
    ]
    if labels:
        lines.append(f"#define TS_LABEL_COUNT {len(labels)}")
        lines.append("#define TS_LABELS {" + ", ".join(_c_string(x) for x in labels) + "}")
    lines.append("#endif")
    (out_dir / "ts_build_config.h").write_text("\n".join(lines) + "\n")


def _write_memory(board: Board, out_dir: Path, stack_bytes: int) -> None:
    assert board.memory is not None
    mem = board.memory
    (out_dir / "ts_memory.ld").write_text(
        f"/* ts_memory.ld - {board.id}, written by workers/firmware/build.py. */\n"
        "MEMORY\n{\n"
        f"    FLASH (rx) : ORIGIN = 0x{mem.flash_origin:08X}, LENGTH = {board.flash_bytes}\n"
        f"    RAM (rwx) : ORIGIN = 0x{mem.ram_origin:08X}, LENGTH = {board.ram_bytes}\n"
        "}\n"
        f"__stack_size__ = {stack_bytes};\n"
    )


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def _link_error(board: Board, stderr: str) -> FirmwareBuildError:
    overflows = {m.group(1): int(m.group(2)) for m in _OVERFLOW.finditer(stderr)}
    if not overflows:
        return FirmwareBuildError(f"link failed:\n{stderr.strip()}")
    parts = []
    if "FLASH" in overflows:
        need = board.flash_bytes + overflows["FLASH"]
        parts.append(f"flash needs {need} bytes but {board.id} has {board.flash_bytes}")
    if "RAM" in overflows:
        need = board.ram_bytes + overflows["RAM"]
        parts.append(f"RAM needs {need} bytes but {board.id} has {board.ram_bytes}")
    return FirmwareTooLargeError("firmware image too large: " + "; ".join(parts))


@dataclass
class _Contribution:
    output_section: str
    input_section: str
    size: int
    obj: str


_MAP_FULL = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_MAP_NAME = re.compile(r"^ (\S+)$")
_MAP_REST = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_MAP_OUTPUT = re.compile(r"^(\.\S+)")


def _parse_map(map_text: str) -> list[_Contribution]:
    """Input-section contributions (section, size, object) of the linked image, from the map."""
    _, _, memory_map = map_text.partition("Linker script and memory map")
    contributions: list[_Contribution] = []
    output = ""
    pending: str | None = None
    for line in memory_map.splitlines():
        m_out = _MAP_OUTPUT.match(line)
        if m_out:
            output = m_out.group(1)
            pending = None
            continue
        if pending is not None:
            m_rest = _MAP_REST.match(line)
            if m_rest:
                size = int(m_rest.group(2), 16)
                if size:
                    contributions.append(_Contribution(output, pending, size, m_rest.group(3)))
            pending = None
            continue
        m_full = _MAP_FULL.match(line)
        if m_full and m_full.group(1) != "*fill*":
            size = int(m_full.group(3), 16)
            if size:
                contributions.append(_Contribution(output, m_full.group(1), size, m_full.group(4)))
            continue
        m_name = _MAP_NAME.match(line)
        if m_name and m_name.group(1).startswith((".", "COMMON")):
            pending = m_name.group(1)
    return contributions


def _section_sizes(size_tool: str, elf: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for line in _run([size_tool, "-A", str(elf)], "arm-none-eabi-size").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def _attribute(
    contributions: list[_Contribution], obj_groups: dict[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Splits flash and RAM by what the bytes are for."""
    flash = {"model_weights": 0, "model_code": 0, "dsp_code": 0, "firmware_code": 0, "data_init": 0}
    ram = {"arena": 0, "signal_window": 0, "dsp_buffers": 0, "replay": 0, "firmware": 0}
    if "anomaly" in obj_groups.values():
        flash["anomaly"] = 0
        ram["anomaly"] = 0
    for c in contributions:
        group = obj_groups.get(Path(c.obj).name if c.obj.endswith(".o") else "", "firmware")
        section = c.input_section
        if c.output_section in (".text", ".ARM.exidx"):
            is_code = section.startswith((".text", ".vectors", ".init", ".fini", ".ARM"))
            if group == "model":
                flash["model_code" if is_code else "model_weights"] += c.size
            elif group == "dsp":
                flash["dsp_code"] += c.size
            elif group == "anomaly":
                flash["anomaly"] += c.size
            else:
                flash["firmware_code"] += c.size
        elif c.output_section in (".data", ".bss"):
            if c.output_section == ".data":
                flash["data_init"] += c.size
            symbol = section.split(".")[-1]
            if group == "model":
                ram["arena"] += c.size
            elif group == "dsp":
                ram["dsp_buffers"] += c.size
            elif group == "anomaly":
                ram["anomaly"] += c.size
            elif symbol in NAMED_BUFFERS:
                ram[NAMED_BUFFERS[symbol]] += c.size
            else:
                ram["firmware"] += c.size
    return flash, ram


def _symbols(nm_tool: str, elf: Path) -> dict[str, int]:
    table: dict[str, int] = {}
    for line in _run([nm_tool, str(elf)], "arm-none-eabi-nm").splitlines():
        parts = line.split()
        if len(parts) == 3:
            table[parts[2]] = int(parts[0], 16)
    return table


def build_firmware(
    board: Board,
    model_dir: Path,
    out_dir: Path,
    *,
    model_name: str | None = None,
    labels: Sequence[str] | None = None,
    dsp_dirs: Sequence[Path] = (),
    optimize: str = "-O2",
    stack_bytes: int = DEFAULT_STACK_BYTES,
    replay_values: int = DEFAULT_REPLAY_VALUES,
) -> FirmwareBuild:
    """Compiles the serial firmware with the compiled model in `model_dir` for `board`.

    `model_dir` holds ts_model.h/ts_model.c (and any kernel files) as the model compiler emits
    them. `dsp_dirs`, when given, enable the DSP stage: every .c in them is linked and the first
    must hold the impulse glue ts_impulse_dsp.h/.c (see ts_classifier.h); pass workers/dsp/c
    too when the glue calls TinyStudio's DSP blocks. When the first also holds ts_anomaly.h/.c
    (workers/deploy/anomaly.py), the anomaly block is linked and run_classifier() scores every
    window with it (its flash and RAM are reported as `anomaly`). Raises
    FirmwareTooLargeError, naming the numbers, when the image exceeds the board's flash or RAM.
    """
    if not board.firmware_buildable:
        raise FirmwareBuildError(
            f"cannot build firmware for {board.id}: {board.firmware_unavailable_reason}"
        )
    assert board.firmware is not None and board.compiler is not None
    model_dir = Path(model_dir).resolve()
    out_dir = Path(out_dir).resolve()
    if not (model_dir / "ts_model.h").is_file():
        raise FirmwareBuildError(f"{model_dir} has no ts_model.h (the compiled model)")
    gcc = _tool("arm-none-eabi-gcc")
    objcopy = _tool("arm-none-eabi-objcopy")
    size_tool = _tool("arm-none-eabi-size")
    nm_tool = _tool("arm-none-eabi-nm")

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_config(board, out_dir, model_name or model_dir.name, labels, replay_values)
    _write_memory(board, out_dir, stack_bytes)

    sources: list[tuple[str, Path]] = [("firmware", FIRMWARE_SRC / s) for s in APP_SOURCES]
    sources.append(("firmware", FIRMWARE_SRC / PORT_SOURCES[board.firmware.port]))
    sources += [("model", p) for p in sorted(model_dir.glob("*.c"))]
    include_dirs = [out_dir, FIRMWARE_SRC, model_dir]
    defines: list[str] = []
    if dsp_dirs:
        resolved = [Path(d).resolve() for d in dsp_dirs]
        if not (resolved[0] / "ts_impulse_dsp.h").is_file():
            raise FirmwareBuildError(f"{resolved[0]} has no ts_impulse_dsp.h (the DSP glue)")
        for d in resolved:
            sources += [
                ("anomaly" if d == resolved[0] and p.name == ANOMALY_SOURCE else "dsp", p)
                for p in sorted(d.glob("*.c"))
            ]
            include_dirs.append(d)
        defines.append("-DTS_HAVE_DSP=1")
        if (resolved[0] / "ts_anomaly.h").is_file():
            defines.append("-DTS_HAVE_ANOMALY=1")

    cflags = [
        *board.compiler.as_args(),
        optimize,
        "-g",
        "-std=gnu99",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-common",
        "-Wall",
        *defines,
        *(f"-I{d}" for d in include_dirs),
    ]
    obj_dir = out_dir / "obj"
    jobs: list[tuple[Path, Path]] = []
    obj_groups: dict[str, str] = {}
    for group, src in sources:
        obj = obj_dir / group / (src.stem + ".o")
        obj.parent.mkdir(parents=True, exist_ok=True)
        if obj.name in obj_groups:
            raise FirmwareBuildError(f"two sources compile to {obj.name}; rename one")
        jobs.append((src, obj))
        obj_groups[obj.name] = group
    objects = [obj for _, obj in jobs]
    # Most objects come from the cache, so a build is mostly a dozen short preprocessor runs:
    # run them side by side (the threads only wait for the compiler processes).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda job: compile_object(gcc, cflags, job[0], job[1], _run), jobs))

    elf = out_dir / "firmware.elf"
    bin_path = out_dir / "firmware.bin"
    map_path = out_dir / "firmware.map"
    link = subprocess.run(
        [
            gcc,
            *board.compiler.as_args(),
            "-nostartfiles",
            "--specs=nano.specs",
            f"-T{LINKER_SCRIPT}",
            f"-L{out_dir}",
            "-Wl,--gc-sections",
            f"-Wl,-Map={map_path}",
            *map(str, objects),
            "-lm",
            "-o",
            str(elf),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if link.returncode != 0:
        raise _link_error(board, link.stderr)
    _run([objcopy, "-O", "binary", str(elf), str(bin_path)], "arm-none-eabi-objcopy")

    sections = _section_sizes(size_tool, elf)
    flash_bytes = sum(sections.get(s, 0) for s in (".text", ".ARM.exidx", ".data"))
    symbols = _symbols(nm_tool, elf)
    stack = symbols["__stack_top__"] - symbols["__stack_limit__"]
    ram_bytes = sum(sections.get(s, 0) for s in (".data", ".bss", ".stack"))
    # The linker already refuses an overflow; this guards boards whose regions are generous.
    problems = []
    if flash_bytes > board.flash_bytes:
        problems.append(f"flash needs {flash_bytes} bytes but {board.id} has {board.flash_bytes}")
    if ram_bytes > board.ram_bytes:
        problems.append(f"RAM needs {ram_bytes} bytes but {board.id} has {board.ram_bytes}")
    if problems:
        raise FirmwareTooLargeError("firmware image too large: " + "; ".join(problems))

    flash, ram = _attribute(_parse_map(map_path.read_text()), obj_groups)
    ram["stack"] = stack
    # What the map lists as *fill* between input sections (function and data alignment).
    flash["padding"] = flash_bytes - sum(flash.values())
    ram["padding"] = ram_bytes - sum(ram.values())
    profile_symbols = {
        region: (symbols[begin] & ~1, symbols[end] & ~1)
        for region, (begin, end) in PROFILE_REGIONS.items()
        if begin in symbols and end in symbols
    }
    return FirmwareBuild(
        board_id=board.id,
        elf=elf,
        bin=bin_path,
        map=map_path,
        flash_bytes=flash_bytes,
        ram_bytes=ram_bytes,
        data_bss_bytes=(symbols["__data_end__"] - symbols["__data_start__"])
        + (symbols["__bss_end__"] - symbols["__bss_start__"]),
        flash=flash,
        ram=ram,
        stack_bytes=stack,
        profile_symbols=profile_symbols,
    )
