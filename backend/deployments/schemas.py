"""Request and response bodies of the deployment routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backend.core.deps import Id

Target = Literal["c-library", "arduino-library", "firmware"]


class FlashingOut(BaseModel):
    image_suffixes: list[str] = Field(description="image files the board is flashed from")
    app_offset: int | None = Field(
        default=None, description="esptool: flash address of an application image"
    )
    uf2_family_id: int | None = Field(
        default=None, description="UF2: the family ID the board's bootloader expects"
    )
    flash_origin: int | None = Field(
        default=None, description="where the board's flash is mapped (a .bin's base address)"
    )
    steps: list[str] = Field(description="what a person does to flash the board, in order")


class BoardOut(BaseModel):
    id: str
    name: str
    kind: str
    core: str
    mcu: str | None = None
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    fpu: bool
    flash_method: str
    toolchain: str
    qemu_machine: str | None = None
    firmware_buildable: bool
    firmware_unavailable_reason: str | None = None
    cycles_per_instruction: float
    flashing: FlashingOut | None = Field(
        default=None, description="how a physical board is flashed (null for virtual boards)"
    )


class DeployIn(BaseModel):
    target: Target
    board_id: str | None = Field(default=None, description="required for target firmware")
    anomaly_run_id: Id | None = Field(
        default=None,
        description="a succeeded K-means anomaly run of the same impulse version, built in "
        "beside the model: every window then gets an anomaly score",
    )


class RamFigures(BaseModel):
    total_bytes: int = Field(description="arena + stack + static: what the build needs in RAM")
    arena_bytes: int = Field(description="the compiled model's tensor arena")
    stack_bytes: int = Field(description="stack high-water mark of DSP + inference, painted")
    static_bytes: int = Field(description="the rest of .data and .bss (buffers, firmware state)")
    stack_reserved_bytes: int = Field(description="the stack region the linker reserves")
    stack_method: str = Field(description="how the stack was measured")
    static_parts: dict[str, int] = Field(description="what the static bytes hold, by name")
    arena_lower_bound_bytes: int | None = Field(
        default=None, description="the compiler's activation lower bound (no in-place reuse)"
    )
    arena_note: str | None = Field(
        default=None, description="why the arena is below the lower bound, when it is"
    )
    impulse_bytes: int | None = Field(
        default=None,
        description="the impulse's own RAM (arena + DSP buffers + anomaly + stack), without "
        "the firmware's serial and replay buffers and the signal window the application fills: "
        "what RAM budgets are compared with",
    )
    impulse_contains: str | None = Field(default=None, description="what impulse_bytes holds")


class FlashFigures(BaseModel):
    total_bytes: int = Field(description="text + data of the linked image (what is written)")
    model_bytes: int = Field(description="the compiled model: weights and kernels")
    code_bytes: int = Field(description="DSP, run_classifier, firmware (and anomaly block)")
    data_bytes: int = Field(description="initial values of .data")
    parts: dict[str, int] = Field(description="the linker map's finer split")
    impulse_bytes: int | None = Field(
        default=None,
        description="the impulse's own flash (model weights and code + DSP code + anomaly), "
        "without the firmware's UART code: what flash budgets are compared with",
    )
    impulse_contains: str | None = Field(default=None, description="what impulse_bytes holds")


class LatencyFigures(BaseModel):
    ms: float = Field(description="estimated time of DSP + inference (+ anomaly) per window")
    instructions: int = Field(description="instructions of one window, counted in QEMU")
    stage_instructions: dict[str, int] = Field(description="instructions per stage")
    clock_hz: int
    cpi: float = Field(description="the core's cycles per instruction factor")
    estimate: Literal[True] = True
    method: str = Field(description="how the estimate was made")
    cpi_source: str = Field(description="where the cycles per instruction factor comes from")


class ProbeOut(BaseModel):
    label: str = Field(description="the board's answer for the window the latency was counted on")
    scores: list[float | None]
    anomaly: float | None = None


class DeviceFigures(BaseModel):
    """RAM, flash and latency of one build, measured once by the build job."""

    board: str = Field(description="the board the figures are for")
    core: str
    measured_on: str = Field(description="the virtual board that ran the image in QEMU")
    note: str | None = Field(default=None, description="what the measurement stands for")
    ram: RamFigures
    flash: FlashFigures
    latency: LatencyFigures
    fits: bool = Field(description="the image fits the board's flash and RAM")
    flash_limit_bytes: int
    ram_limit_bytes: int
    probe: ProbeOut | None = Field(
        default=None, description="the window the instructions were counted on, classified"
    )

    def summary(self) -> str:
        """One line naming what each figure contains, as the pages show it."""
        ram, flash, latency = self.ram, self.flash, self.latency
        return (
            f"RAM {kb(ram.total_bytes)} = arena {kb(ram.arena_bytes)} + stack "
            f"{kb(ram.stack_bytes)} + static {kb(ram.static_bytes)}; flash "
            f"{kb(flash.total_bytes)} = model {kb(flash.model_bytes)} + code "
            f"{kb(flash.code_bytes)} + data {kb(flash.data_bytes)}; latency ~{latency.ms:.2f} ms "
            f"(estimate: {latency.method})"
        )


def kb(n: int) -> str:
    """Bytes as the pages print them (frontend formatBytes): B below 1 KiB, then KB, MB."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


# Bounds of a device test's summary: a model's outputs, the listed windows, a test's windows.
MAX_SCORES = 4096
FIRST_DIFFERING = 10
MAX_TEST_WINDOWS = 10_000_000

Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class DifferingScores(BaseModel):
    sample_id: Id
    sample_name: str | None = Field(default=None, max_length=255)
    window_index: int = Field(
        ge=0, le=MAX_TEST_WINDOWS, description="the window's index within its sample"
    )
    window_start_ms: Finite = Field(ge=0)
    studio: list[Finite] = Field(
        max_length=MAX_SCORES, description="the studio's int8 scores, in label order"
    )
    device: list[Finite | None] = Field(
        max_length=MAX_SCORES,
        description="the device's scores, in label order (null where the board printed NaN)",
    )

    @field_validator("device")
    @classmethod
    def _as_many_as_the_studio(
        cls, device: list[float | None], info: ValidationInfo
    ) -> list[float | None]:
        studio = info.data.get("studio")
        if studio is not None and len(device) != len(studio):
            raise ValueError(f"{len(device)} device scores for {len(studio)} studio scores")
        return device


class ScoreComparison(BaseModel):
    """The device's scores against the studio's int8 scores, window by window."""

    windows: int = Field(
        ge=0, le=MAX_TEST_WINDOWS, description="windows whose scores were compared"
    )
    differing: int = Field(ge=0, le=MAX_TEST_WINDOWS, description="windows where any score differs")
    max_abs_difference: Finite | None = Field(ge=0, description="the largest score difference")
    max_step_difference: int | None = Field(
        default=None,
        ge=0,
        le=2**32,
        description="the largest difference in the int8 output's steps",
    )
    output_scale: Finite | None = Field(default=None, gt=0)
    output_zero_point: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    first_differing: list[DifferingScores] = Field(
        max_length=FIRST_DIFFERING, description="the first differing windows"
    )

    @field_validator("differing")
    @classmethod
    def _at_most_the_windows(cls, differing: int, info: ValidationInfo) -> int:
        windows = info.data.get("windows")
        if windows is not None and differing > windows:
            raise ValueError(f"{differing} differing windows of {windows} compared")
        return differing

    @field_validator("first_differing")
    @classmethod
    def _at_most_the_differing(
        cls, first: list[DifferingScores], info: ValidationInfo
    ) -> list[DifferingScores]:
        differing = info.data.get("differing")
        if differing is not None and len(first) > differing:
            raise ValueError(f"{len(first)} windows listed of {differing} differing")
        return first


class DeviceTestFigures(BaseModel):
    """What an on-device test found, wherever it ran."""

    board: str = Field(min_length=1, max_length=200, description="the board the test ran on")
    windows: int = Field(ge=0, le=MAX_TEST_WINDOWS, description="test windows classified")
    agreement: Share | None = Field(description="share of windows with the studio's label")
    device_accuracy: Share | None
    studio_int8_accuracy: Share | None
    scores: ScoreComparison

    @field_validator("scores")
    @classmethod
    def _within_the_windows(cls, scores: ScoreComparison, info: ValidationInfo) -> ScoreComparison:
        windows = info.data.get("windows")
        if windows is not None and scores.windows > windows:
            raise ValueError(f"{scores.windows} windows compared of {windows} tested")
        return scores


class DeviceTestSummary(DeviceTestFigures):
    """The last on-device test of a firmware deployment."""

    source: Literal["studio", "browser"] = Field(
        default="studio",
        description="studio: the studio's test job on a virtual board; browser: a test run from "
        "the browser through a connected board",
    )
    job_id: int | None = Field(default=None, description="the studio's test job, if it ran one")


class DeviceTestResultIn(DeviceTestFigures):
    """An on-device test run in the browser (a board on Web Serial or a virtual board), to keep
    as the deployment's last test."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["browser"]


class DeploymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    training_run_id: int
    target: str
    board_id: str | None
    anomaly_run_id: int | None = Field(
        default=None, description="the anomaly run built in beside the model, if any"
    )
    job_id: int | None
    status: str
    report: dict[str, Any]
    figures: DeviceFigures | None = Field(
        default=None, description="RAM, flash and latency of the build (the report's figures)"
    )
    device_test: DeviceTestSummary | None = Field(
        default=None, description="the last on-device test (the report's device_test)"
    )
    created_at: datetime
