"""Request and response bodies of the virtual board routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from backend.core.deps import Id


class VirtualBoardIn(BaseModel):
    board_id: str = Field(description="a virtual board of the catalog, e.g. virtual-cortex-m4")
    deployment_id: Id | None = Field(
        default=None,
        description="a firmware deployment built for this board; default: the newest one",
    )


class FlashIn(BaseModel):
    deployment_id: Id | None = Field(
        default=None,
        description="a firmware deployment built for the board; default: the newest one",
    )


class ReplayIn(BaseModel):
    sample_id: Id | None = Field(default=None, description="a sample of the project to replay")
    values: list[list[float]] | None = Field(
        default=None,
        max_length=65536,
        description="instead of a sample: readings x axes, e.g. a signal drawn or uploaded",
    )
    hz: float | None = Field(
        default=None,
        gt=0,
        le=1_000_000,
        description="readings per second; default: the sample's (required with values)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ReplayIn:
        if (self.sample_id is None) == (self.values is None):
            raise ValueError("give either sample_id or values")
        if self.values is not None:
            if self.hz is None:
                raise ValueError("values need hz, their readings per second")
            if not self.values or not self.values[0]:
                raise ValueError("values hold no readings")
            axes = len(self.values[0])
            for index, reading in enumerate(self.values):
                if len(reading) != axes:
                    raise ValueError(
                        f"reading {index} has {len(reading)} values, reading 0 has {axes}"
                    )
        return self


class ReplayOut(BaseModel):
    sample_id: int | None
    axes: int
    hz: float
    readings: int = Field(description="readings loaded into the board's replay buffer")
    sample_readings: int
    truncated: bool = Field(description="true when the sample is longer than the replay buffer")
    answer: str = Field(description="the board's answer to `replay end`")


class VirtualBoardOut(BaseModel):
    id: str
    project_id: int
    board_id: str
    board_name: str
    qemu_machine: str
    state: Literal["starting", "running", "flashing", "stopped"]
    deployment_id: int | None
    started_at: datetime
    flashed_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    expires_at: datetime = Field(description="when the lifetime limit stops the board")
    idle_timeout_seconds: float
    connections: int = Field(description="WebSockets attached to the board's serial line")
    info: dict[str, Any] = Field(description="the firmware's answer to `info`")
    serial_url: str = Field(description="the WebSocket path of the board's serial line")
