"""Request and response bodies of the dataset routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.deps import Id
from backend.datasets.models import Category


class SensorOut(BaseModel):
    name: str
    units: str


class SampleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    label: str | None
    category: Category
    sensors: list[SensorOut]
    interval_ms: float
    frequency_hz: float
    length: int
    axes: int
    duration_ms: float
    sha256: str
    size_bytes: int
    original_name: str
    original_format: str
    device_name: str | None
    device_type: str | None
    metadata: dict[str, Any]
    enabled: bool
    signature_verified: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int

    @classmethod
    def of(cls, sample: Any) -> SampleOut:
        return cls(
            **{
                name: getattr(sample, name)
                for name in cls.model_fields
                if name not in ("metadata", "frequency_hz", "duration_ms")
            },
            metadata=sample.sample_metadata or {},
            frequency_hz=round(1000.0 / sample.interval_ms, 6),
            duration_ms=sample.duration_ms,
        )


class SamplePage(BaseModel):
    items: list[SampleOut]
    total: int
    limit: int
    offset: int


class UploadFileResult(BaseModel):
    filename: str
    stored: bool
    sample: SampleOut | None = None
    error: str | None = None
    line: int | None = None
    field: str | None = None
    status: int


class UploadResult(BaseModel):
    stored: int
    refused: int
    files: list[UploadFileResult]


class SampleEdit(BaseModel):
    version: int | None = Field(
        default=None, description="the version you edited, to detect conflicts"
    )
    name: str | None = Field(default=None, max_length=255)
    label: str | None = Field(default=None, max_length=128)
    clear_label: bool = False
    category: Category | None = None
    enabled: bool | None = None
    metadata: dict[str, str] | None = None


class CropIn(BaseModel):
    start_ms: float = Field(ge=0)
    end_ms: float = Field(gt=0)
    version: int | None = None


class SplitIn(BaseModel):
    window_ms: float = Field(gt=0)
    stride_ms: float | None = Field(default=None, gt=0)


class BulkIn(BaseModel):
    sample_ids: list[Id] = Field(min_length=1, max_length=100_000)
    action: Literal["relabel", "move", "enable", "disable", "delete", "restore", "crop", "split"]
    label: str | None = Field(default=None, max_length=128)
    category: Category | None = None
    start_ms: float | None = Field(default=None, ge=0, description="crop: start of the kept range")
    end_ms: float | None = Field(default=None, gt=0, description="crop: end of the kept range")
    window_ms: float | None = Field(default=None, gt=0, description="split: window length")
    stride_ms: float | None = Field(default=None, gt=0, description="split: window stride")


class PreviousState(BaseModel):
    """A sample's label, category and enabled flag before a change, and the version the change
    gave it: sent back to /samples/revert to undo the change while nothing changed since."""

    id: Id
    version: int = Field(description="the sample's version right after the change")
    label: str | None = Field(max_length=128)
    category: Category
    enabled: bool


class BulkResult(BaseModel):
    action: str
    changed: int
    previous: list[PreviousState] = Field(
        default_factory=list,
        description="relabel, move, enable, disable: the state before the change of each "
        "sample it changed, to undo it with /samples/revert",
    )


class RevertIn(BaseModel):
    samples: list[PreviousState] = Field(min_length=1, max_length=100_000)


class PurgeIn(BaseModel):
    sample_ids: list[Id] | None = Field(
        default=None, description="trashed samples to delete for good; all of the trash if absent"
    )


class PlotAxis(BaseModel):
    name: str
    units: str
    values: list[float]


class PlotValues(BaseModel):
    sample_id: int
    interval_ms: float
    length: int
    downsampled: bool
    t_ms: list[float]
    axes: list[PlotAxis]


class RawValues(BaseModel):
    """One page of a sample's rows; ask again from `next_start` until it is null."""

    sample_id: int
    interval_ms: float
    sensors: list[SensorOut]
    length: int = Field(description="rows in the whole sample")
    start: int = Field(description="the first row of this page")
    count: int = Field(description="rows in this page")
    next_start: int | None = Field(description="the first row of the next page; null at the end")
    values: list[list[float]]


class CategorySummary(BaseModel):
    count: int
    duration_ms: float
    labels: dict[str, dict[str, float]]


class DatasetSummary(BaseModel):
    categories: dict[str, CategorySummary]
    labels: list[str]
    disabled: int
    trashed: int


class DuplicateGroup(BaseModel):
    sha256: str
    samples: list[SampleOut]


class RebalancePlan(BaseModel):
    """What a rebalance would do now: samples it moves each way, of those it splits."""

    to_training: int
    to_testing: int
    samples: int


class RebalanceResult(BaseModel):
    moved: int
    samples: int
    previous: list[PreviousState] = Field(
        default_factory=list,
        description="the category before the rebalance of each sample it moved, to undo it "
        "with /samples/revert",
    )


class VersionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    sample_count: int
    fingerprint: str
    created_at: datetime


class VersionDetail(VersionOut):
    entries: list[dict[str, Any]]
