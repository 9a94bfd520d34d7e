"""One set of device figures per build: RAM (arena + painted stack + static), flash and latency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.boards import Board
from workers.firmware.build import FirmwareBuild

STACK_METHOD = (
    "painted in QEMU: the reset handler fills the stack with a pattern, the firmware runs DSP + "
    "inference once at boot, and the bytes of pattern overwritten are the high-water mark"
)
# RAM buffers of the firmware shown by name inside the static part; the rest is "other".
STATIC_PARTS = ("signal_window", "dsp_buffers", "replay", "firmware", "anomaly")
# What an application pays for the impulse (the budgets' figures): the firmware's own serial and
# replay buffers and UART code are left out, as an application replaces them with its own, and so
# is the raw signal window, the application's own input buffer.
IMPULSE_RAM_PARTS = ("arena", "dsp_buffers", "anomaly")
IMPULSE_FLASH_PARTS = ("model_weights", "model_code", "dsp_code", "anomaly")
IMPULSE_RAM_CONTAINS = (
    "model arena + DSP buffers (features, scratch) + anomaly block + painted stack; the signal "
    "window the application fills is not counted"
)
IMPULSE_FLASH_CONTAINS = "model weights + model code + DSP code + anomaly block"


def arena_note(arena_bytes: int, lower_bound: int | None) -> str | None:
    """Why an arena below the compiler's activation lower bound is no contradiction."""
    if lower_bound is None or arena_bytes >= lower_bound:
        return None
    return (
        f"arena {arena_bytes:,} B is below the {lower_bound:,} B lower bound because layers "
        "reuse their input buffers in place (the bound counts every tensor alive at one step "
        "as separate bytes)"
    )


def _flash(build: FirmwareBuild) -> dict[str, Any]:
    model = build.flash.get("model_weights", 0) + build.flash.get("model_code", 0)
    data = build.flash.get("data_init", 0)
    return {
        "total_bytes": build.flash_bytes,
        "model_bytes": model,
        "code_bytes": build.flash_bytes - model - data,
        "data_bytes": data,
        "parts": dict(build.flash),
        "impulse_bytes": sum(build.flash.get(name, 0) for name in IMPULSE_FLASH_PARTS),
        "impulse_contains": IMPULSE_FLASH_CONTAINS,
    }


def _ram(
    build: FirmwareBuild, *, arena_bytes: int, stack_bytes: int, lower_bound: int | None
) -> dict[str, Any]:
    static = build.data_bss_bytes - arena_bytes
    parts = {name: build.ram[name] for name in STATIC_PARTS if name in build.ram}
    # Model statics besides the arena, and alignment between sections.
    parts["other"] = static - sum(parts.values())
    return {
        "total_bytes": arena_bytes + stack_bytes + static,
        "arena_bytes": arena_bytes,
        "stack_bytes": stack_bytes,
        "static_bytes": static,
        "stack_reserved_bytes": build.stack_bytes,
        "stack_method": STACK_METHOD,
        "static_parts": parts,
        "arena_lower_bound_bytes": lower_bound,
        "arena_note": arena_note(arena_bytes, lower_bound),
        "impulse_bytes": sum(build.ram.get(name, 0) for name in IMPULSE_RAM_PARTS) + stack_bytes,
        "impulse_contains": IMPULSE_RAM_CONTAINS,
    }


def _latency(target: Board, measured_on: Board, instructions: Mapping[str, int]) -> dict[str, Any]:
    total = sum(instructions.values())
    cpi = target.cycles_per_instruction
    core = target.core_info
    return {
        "ms": target.latency_estimate_s(total) * 1000.0,
        "instructions": total,
        "stage_instructions": dict(instructions),
        "clock_hz": target.clock_hz,
        "cpi": cpi,
        "estimate": True,
        "method": (
            f"instructions of one window counted on {measured_on.id} (QEMU -icount with the "
            f"insncount plugin) x {cpi} cycles per instruction ({target.core}) / "
            f"{target.clock_hz / 1e6:g} MHz"
        ),
        "cpi_source": core.cpi_source,
    }


def device_figures(
    *,
    target: Board,
    measured_on: Board,
    build: FirmwareBuild,
    arena_bytes: int,
    stack_bytes: int,
    instructions: Mapping[str, int],
    lower_bound: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The figures of `build` for `target`: sizes from its linked image, the painted stack and
    the instruction counts from the run on `measured_on`."""
    return {
        "board": target.id,
        "core": target.core,
        "measured_on": measured_on.id,
        "note": note or target.core_info.profile_note,
        "ram": _ram(
            build, arena_bytes=arena_bytes, stack_bytes=stack_bytes, lower_bound=lower_bound
        ),
        "flash": _flash(build),
        "latency": _latency(target, measured_on, instructions),
        "fits": build.flash_bytes <= target.flash_bytes and build.ram_bytes <= target.ram_bytes,
        "flash_limit_bytes": target.flash_bytes,
        "ram_limit_bytes": target.ram_bytes,
    }
