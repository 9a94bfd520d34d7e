"""What the fleet routes take and answer: registration, telemetry batches, devices, drift."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from backend.core.deps import MAX_ID

# Bounds a device's report is held to, so one request stays small whatever the setting.
MAX_FEATURES = 4096
MAX_RAW_VALUES = 65_536
MAX_BATCH_CEILING = 10_000
# Raw windows become samples, stored as float32.
FLOAT32_MAX = 3.4028234e38


class DeviceRegister(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    board_id: str = Field(min_length=1, max_length=64)
    firmware_version: str = Field(min_length=1, max_length=64)
    training_run_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="the model it runs"
    )
    deployment_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="or the deployment it was flashed from"
    )

    @model_validator(mode="after")
    def _one_model(self) -> DeviceRegister:
        if self.training_run_id is None and self.deployment_id is None:
            raise ValueError("give training_run_id or deployment_id: the model the device runs")
        return self


class DeviceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tags: list[str] | None = Field(default=None, max_length=20)

    @field_validator("tags")
    @classmethod
    def _short_tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        cleaned = [t.strip() for t in tags]
        if any(not t or len(t) > 40 for t in cleaned):
            raise ValueError("a tag holds 1 to 40 characters")
        return sorted(set(cleaned))


class DeviceOut(BaseModel):
    id: int
    name: str
    board_id: str
    firmware_version: str
    training_run_id: int | None
    deployment_id: int | None
    model_version: str | None = Field(description="the impulse and run whose model it runs")
    tags: list[str]
    key_prefix: str
    last_seen_at: datetime | None
    state: Literal["online", "offline"]
    telemetry_count: int
    raw_windows: int = Field(description="sampled raw windows not yet turned into samples")
    created_at: datetime


class DeviceRegistered(DeviceOut):
    key: str = Field(description="the device's key: shown once, only its hash is kept")


def _finite(values: list[float], what: str) -> list[float]:
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} holds a value that is not a finite number")
    return values


class RawWindow(BaseModel):
    """One window of raw readings the device kept (time x axes)."""

    values: list[list[float]] = Field(min_length=1)
    interval_ms: float = Field(gt=0, le=3_600_000)
    sensors: list[str] | None = Field(default=None, description="axis names, in order")

    @model_validator(mode="after")
    def _rectangular(self) -> RawWindow:
        axes = len(self.values[0])
        if axes == 0 or any(len(row) != axes for row in self.values):
            raise ValueError("values must be rows of the same number (at least one) of axes")
        if axes * len(self.values) > MAX_RAW_VALUES:
            raise ValueError(f"a raw window holds at most {MAX_RAW_VALUES} values")
        for row in self.values:
            if not all(math.isfinite(v) and abs(v) <= FLOAT32_MAX for v in row):
                raise ValueError("values holds a value that is not a finite float32 number")
        if self.sensors is not None and len(self.sensors) != axes:
            raise ValueError(f"sensors names {len(self.sensors)} axes, values have {axes}")
        return self


class TelemetryItem(BaseModel):
    """A summary of `count` consecutive windows the device classified."""

    seq: int = Field(ge=0, le=2**62, description="the device's own sequence number")
    time: AwareDatetime = Field(description="when the (last) window ended, with its zone")
    label: str | None = Field(default=None, max_length=200, description="the top label")
    top_score: float = Field(ge=0, le=1)
    anomaly_score: float | None = None
    count: int = Field(default=1, ge=1, le=1_000_000, description="windows summarised")
    feature_means: list[float] = Field(min_length=1, max_length=MAX_FEATURES)
    feature_variances: list[float] = Field(min_length=1, max_length=MAX_FEATURES)
    raw: RawWindow | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TelemetryItem:
        _finite(self.feature_means, "feature_means")
        _finite(self.feature_variances, "feature_variances")
        if len(self.feature_variances) != len(self.feature_means):
            raise ValueError("feature_variances must have as many entries as feature_means")
        if any(v < 0 for v in self.feature_variances):
            raise ValueError("feature_variances holds a negative variance")
        if self.anomaly_score is not None and not math.isfinite(self.anomaly_score):
            raise ValueError("anomaly_score is not a finite number")
        return self


class TelemetryBatch(BaseModel):
    items: list[TelemetryItem] = Field(min_length=1, max_length=MAX_BATCH_CEILING)


class TelemetryAccepted(BaseModel):
    stored: int
    duplicates: int = Field(description="items whose seq was already stored (a resent batch)")


class FeatureDriftOut(BaseModel):
    index: int
    name: str
    psi: float
    ks: float
    reference_mean: float
    field_mean: float
    drifted: bool


class LabelShare(BaseModel):
    label: str
    training: float
    field: float


class ScorePoint(BaseModel):
    day: str
    mean_top_score: float
    items: int


class DriftOut(BaseModel):
    """Drift of one device's reports (or of a group of devices running one model)."""

    device_id: int | None
    device_name: str | None
    training_run_id: int | None
    items: int = Field(description="telemetry items compared")
    windows: int = Field(description="windows they summarise")
    reference_windows: int
    status: Literal["ok", "drift", "no_data", "no_reference"]
    alert: bool
    reasons: list[str] = Field(description="in words: which features or labels moved, and how")
    features: list[FeatureDriftOut] = Field(
        description="the devices' per-window feature summaries against the training windows"
    )
    raw_windows: int = Field(description="sampled raw windows run through the impulse's DSP")
    raw_features: list[FeatureDriftOut] = Field(
        description="the features of those raw windows against the training windows"
    )
    label_psi: float | None
    labels: list[LabelShare]
    score_trend_per_day: float | None
    scores: list[ScorePoint]


class FleetDriftOut(BaseModel):
    feature_psi_alert: float
    label_psi_alert: float
    fleet: list[DriftOut] = Field(description="every device's reports pooled, per model run")
    devices: list[DriftOut]


class FieldSamplesIn(BaseModel):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class FieldSamplesOut(BaseModel):
    created: int
    sample_ids: list[int]
