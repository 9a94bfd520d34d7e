"""Request and response bodies of the deployment routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    anomaly_run_id: int | None = Field(
        default=None,
        description="a succeeded K-means anomaly run of the same impulse version, built in "
        "beside the model: every window then gets an anomaly score",
    )


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
    created_at: datetime
