"""The board catalog: one JSON file per board in `catalog/`, validated and served as `Board`s."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

CATALOG_DIR = Path(__file__).parent / "catalog"
CORES_FILE = Path(__file__).parent / "cores.json"


class BoardNotFoundError(KeyError):
    """Raised when a board id is not in the catalog."""


def _parse_address(value: object) -> object:
    """Accept addresses written as hex strings ("0x40004000") as well as integers."""
    if isinstance(value, str):
        return int(value, 0)
    return value


Address = Annotated[int, BeforeValidator(_parse_address), Field(ge=0, le=0xFFFFFFFF)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Core(_Strict):
    """A processor core and the factor that turns instruction counts into cycles."""

    id: str
    architecture: str
    cycles_per_instruction: float = Field(gt=0)
    cpi_source: str = Field(min_length=20)
    profile_on: str | None
    profile_note: str | None = None


class CompilerFlags(_Strict):
    """The arm-none-eabi-gcc target flags for a board."""

    mcpu: str
    mfpu: str | None
    mfloat_abi: Literal["soft", "softfp", "hard"]

    def as_args(self) -> list[str]:
        """The flags as gcc command-line arguments."""
        args = [f"-mcpu={self.mcpu}", "-mthumb", f"-mfloat-abi={self.mfloat_abi}"]
        if self.mfpu:
            args.append(f"-mfpu={self.mfpu}")
        return args


class MemoryMap(_Strict):
    """Where the firmware image (flash) and its variables (RAM) start."""

    flash_origin: Address
    ram_origin: Address


class FirmwarePort(_Strict):
    """The peripherals the TinyStudio serial firmware drives on a board."""

    port: Literal["mps2-cmsdk"]
    uart_base: Address
    uart_rx_irq: int = Field(ge=0, lt=64)  # NVIC interrupt number of the UART's receive line
    timer_base: Address
    peripheral_clock_hz: int = Field(gt=0)


class Flashing(_Strict):
    """How a physical board is flashed: where an image goes and what a person does."""

    image_suffixes: tuple[str, ...] = Field(min_length=1)  # files the flash page accepts
    app_offset: Address | None = None  # esptool: flash address of an application image
    uf2_family_id: Address | None = None  # UF2: the family ID its bootloader expects
    steps: tuple[str, ...] = Field(min_length=1)  # what a person does, in order


class Board(_Strict):
    """One board of the catalog, real or virtual."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    kind: Literal["virtual", "physical"]
    mcu: str
    core: str
    clock_hz: int = Field(gt=0)
    flash_bytes: int = Field(gt=0)
    ram_bytes: int = Field(gt=0)
    fpu: Literal["none", "single", "double"]
    toolchain: Literal["arm-none-eabi", "none"]
    compiler: CompilerFlags | None
    flash_method: Literal["esptool", "uf2", "download", "virtual"]
    qemu_machine: str | None
    memory: MemoryMap | None
    firmware: FirmwarePort | None
    flashing: Flashing | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Board:
        if self.kind == "virtual":
            if not self.qemu_machine or self.flash_method != "virtual":
                raise ValueError(
                    f"{self.id}: a virtual board needs qemu_machine, flash_method virtual"
                )
        elif self.qemu_machine or self.flash_method == "virtual":
            raise ValueError(f"{self.id}: a physical board has no qemu_machine")
        elif self.flashing is None:
            raise ValueError(f"{self.id}: a physical board needs flashing instructions")
        if self.flash_method == "uf2" and (
            self.flashing is None or self.flashing.uf2_family_id is None or self.memory is None
        ):
            raise ValueError(f"{self.id}: a UF2 board needs uf2_family_id and a memory map")
        if self.flash_method == "esptool" and (
            self.flashing is None or self.flashing.app_offset is None
        ):
            raise ValueError(f"{self.id}: an esptool board needs app_offset")
        if self.toolchain == "none" and (self.compiler or self.firmware):
            raise ValueError(f"{self.id}: no toolchain, so no compiler flags or firmware port")
        if self.toolchain == "arm-none-eabi" and (self.compiler is None or self.memory is None):
            raise ValueError(f"{self.id}: an arm-none-eabi board needs compiler flags and memory")
        if self.compiler and (self.fpu == "none") != (self.compiler.mfloat_abi == "soft"):
            raise ValueError(f"{self.id}: fpu {self.fpu} disagrees with -mfloat-abi")
        if self.core not in _cores():
            raise ValueError(f"{self.id}: unknown core {self.core}")
        return self

    @property
    def core_info(self) -> Core:
        """The core record (cycles-per-instruction factor and its source)."""
        return _cores()[self.core]

    @property
    def cycles_per_instruction(self) -> float:
        """Estimated cycles per executed instruction for this board's core."""
        return self.core_info.cycles_per_instruction

    @property
    def firmware_buildable(self) -> bool:
        """True when TinyStudio can build its serial firmware for this board here."""
        return self.toolchain != "none" and self.firmware is not None

    @property
    def firmware_unavailable_reason(self) -> str | None:
        """Why the serial firmware cannot be built for this board, or None if it can."""
        if self.toolchain == "none":
            return f"no {self.core} toolchain in TinyStudio; deploy the C or Arduino library"
        if self.firmware is None:
            return f"no TinyStudio firmware port for {self.mcu} yet; deploy the C library"
        return None

    def latency_estimate_s(self, instructions: int) -> float:
        """Seconds for `instructions` on this board: instructions x CPI / clock (an estimate)."""
        return instructions * self.cycles_per_instruction / self.clock_hz


@cache
def _cores() -> dict[str, Core]:
    raw = json.loads(CORES_FILE.read_text())["cores"]
    return {core_id: Core(id=core_id, **fields) for core_id, fields in raw.items()}


@cache
def _catalog() -> dict[str, Board]:
    boards: dict[str, Board] = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        board = Board.model_validate_json(path.read_text())
        if board.id != path.stem:
            raise ValueError(f"{path.name}: id {board.id!r} must match the file name")
        boards[board.id] = board
    for board in boards.values():
        target = board.core_info.profile_on
        if target is not None and target not in boards:
            raise ValueError(f"core {board.core}: profile_on {target!r} is not a catalogued board")
    return boards


def list_boards(*, kind: Literal["virtual", "physical"] | None = None) -> list[Board]:
    """Lists the catalogued boards, optionally only the virtual or physical ones."""
    return [b for b in _catalog().values() if kind is None or b.kind == kind]


def get_board(board_id: str) -> Board:
    """Gets a board by its id."""
    try:
        return _catalog()[board_id]
    except KeyError:
        known = ", ".join(sorted(_catalog()))
        raise BoardNotFoundError(f"unknown board {board_id!r}; known boards: {known}") from None
