"""Request and response bodies of the impulse, feature and training routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InputBlock(BaseModel):
    window_ms: float = Field(gt=0, le=3_600_000, description="window length")
    stride_ms: float = Field(gt=0, le=3_600_000, description="distance between window starts")
    frequency_hz: float = Field(gt=0, le=200_000, description="rate the data is resampled to")
    zero_pad: bool = Field(default=True, description="pad samples shorter than one window")


class BlockSpec(BaseModel):
    block: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class ImpulseSpec(BaseModel):
    input: InputBlock
    dsp: list[BlockSpec] = Field(min_length=1, max_length=8)
    learn: list[BlockSpec] = Field(min_length=1, max_length=4)


class ImpulseCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    spec: ImpulseSpec


class ImpulseSave(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    spec: ImpulseSpec
    base_version: int | None = Field(
        default=None, description="the version you edited; a newer save answers 409"
    )


class ImpulseShapes(BaseModel):
    window_samples: int
    axes: int
    dsp_output_shapes: list[list[int]]
    learn_input_shape: list[int]


class ImpulseOut(BaseModel):
    id: int
    name: str
    version: int
    version_id: int
    spec: dict[str, Any]
    shapes: ImpulseShapes | None
    created_at: datetime
    updated_at: datetime


class ImpulseVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    spec: dict[str, Any]
    created_at: datetime
    created_by: str | None = Field(
        default=None, description="the username of who saved it (null once that user is gone)"
    )


class BlockInfo(BaseModel):
    name: str
    title: str
    description: str
    kind: str
    parameters_schema: dict[str, Any]


class BlocksOut(BaseModel):
    dsp: list[BlockInfo]
    learn: list[BlockInfo]


class PreviewIn(BaseModel):
    input: InputBlock
    dsp: BlockSpec
    sample_id: int
    window_index: int = Field(default=0, ge=0)


class PreviewOut(BaseModel):
    sample_id: int
    window_index: int
    windows: int
    window_start_ms: float
    window: list[list[float]]
    axes: list[str]
    features: list[float]
    feature_shape: list[int]
    feature_names: list[str] | None


class FeaturesIn(BaseModel):
    dataset_version_id: int | None = Field(
        default=None, description="a dataset version; a new snapshot is taken when absent"
    )


class TrainIn(BaseModel):
    learn_index: int = Field(default=0, ge=0, description="which learning block to train")
    dataset_version_id: int | None = None
    params: dict[str, Any] | None = Field(
        default=None, description="learning block settings for this run (default: the impulse's)"
    )
    normal_labels: list[str] | None = Field(
        default=None,
        description="anomaly detection: the labels that are normal (trained on); "
        "default: every label in the training data",
    )


class TrainingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    impulse_id: int
    impulse_version_id: int
    dataset_version_id: int
    job_id: int | None
    retrained_from_id: int | None
    status: str
    metrics: dict[str, Any]
    artifacts: dict[str, Any]
    created_at: datetime
