"""Request and response bodies of the deployment routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Target = Literal["c-library", "arduino-library", "firmware"]


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


class DeployIn(BaseModel):
    target: Target
    board_id: str | None = Field(default=None, description="required for target firmware")


class DeploymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    training_run_id: int
    target: str
    board_id: str | None
    job_id: int | None
    status: str
    report: dict[str, Any]
    created_at: datetime
