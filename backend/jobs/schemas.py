"""Response bodies of the job routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ArtifactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: int
    name: str
    kind: str
    size_bytes: int
    sha256: str
    media_type: str
    created_at: datetime


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    kind: str
    status: str
    progress: float
    progress_message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    timings: dict[str, Any]
    attempts: int
    worker: str | None = Field(
        default=None, description="the worker (name@host) that ran the job's last attempt"
    )
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    artifacts: list[ArtifactOut] = []


class JobLog(BaseModel):
    job_id: int
    log: str


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
