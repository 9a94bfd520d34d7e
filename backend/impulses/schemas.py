"""Request and response bodies of the impulse, feature and training routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.core.deps import Id
from workers.windowing import DEFAULT_PADDING, Padding


class InputBlock(BaseModel):
    """The time series input block: how samples are resampled and cut into windows."""

    window_ms: float = Field(
        gt=0, le=3_600_000, title="Window size (ms)",
        description="Length of the signal each classification sees.",
    )  # fmt: skip
    stride_ms: float = Field(
        gt=0, le=3_600_000, title="Window increase (ms)",
        description="Distance between window starts when cutting samples.",
    )  # fmt: skip
    frequency_hz: float = Field(
        gt=0, le=200_000, title="Frequency (Hz)", description="The data is resampled to this rate."
    )
    zero_pad: bool = Field(
        default=True, title="Pad short samples",
        description="A sample shorter than one window gives one window, padded as set below "
        "(the name is kept from when it was padded with zeros); off, it gives no window.",
    )  # fmt: skip
    padding: Padding = Field(
        default=DEFAULT_PADDING, title="Padding",
        description="What fills a short sample's window: its last value repeated (edge), its "
        "mean per axis (mean) or 0.0 (zero).",
    )  # fmt: skip


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
    input: BlockInfo = Field(description="the time series input block (kind 'input')")
    dsp: list[BlockInfo]
    learn: list[BlockInfo]


class InputDefaultsOut(BaseModel):
    """The input block a project's data suggests, and the durations it was drawn from."""

    input: InputBlock = Field(
        description="the suggested input: the samples' most common rate; the whole-sample "
        "window when the median sample is shorter than a usual window (2 s, 1 s for audio), "
        "else that window with half of it as the stride"
    )
    samples: int = Field(description="live, enabled samples the suggestion is drawn from")
    whole_sample_ms: float | None = Field(
        default=None,
        description="the whole-sample window: the longest sample's duration, so every sample "
        "gives exactly one window (shorter ones padded); null without data",
    )
    shortest_ms: float | None = None
    median_ms: float | None = None
    longest_ms: float | None = None


class PreviewIn(BaseModel):
    input: InputBlock
    dsp: BlockSpec
    sample_id: Id
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
    dataset_version_id: Id | None = Field(
        default=None, description="a dataset version; a new snapshot is taken when absent"
    )


class OptimizationIn(BaseModel):
    """The earlier runs an optimized run (learning block setting "optimization") refers to."""

    baseline_run_id: Id | None = Field(
        default=None,
        description="the run pruning and quantization-aware training start from, and every "
        "optimized run is compared with (default: the newest succeeded run of this learning "
        "block without optimization)",
    )
    teacher_run_id: Id | None = Field(
        default=None,
        description="distillation: the run whose model teaches (default: a network twice as "
        "wide is trained first)",
    )
    board_id: str | None = Field(
        default=None,
        max_length=64,
        description="the board both models are built and measured for (default virtual-cortex-m4)",
    )


class TrainIn(OptimizationIn):
    learn_index: int = Field(default=0, ge=0, description="which learning block to train")
    dataset_version_id: Id | None = None
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
    baseline_run_id: int | None = Field(
        default=None, description="an optimized run: the run it is compared with"
    )
    teacher_run_id: int | None = Field(
        default=None, description="a distilled run: the run whose model taught it"
    )
    status: str
    metrics: dict[str, Any]
    artifacts: dict[str, Any]
    created_at: datetime
