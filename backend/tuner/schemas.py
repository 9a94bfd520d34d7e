"""Request and response bodies of the tuner routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.core.deps import Id

Sampler = Literal["tpe", "random"]
# Block lists name at most every block there is, with room to spare.
MAX_BLOCKS = 32


class BudgetsIn(BaseModel):
    ram_bytes: int | None = Field(
        default=None, gt=0, le=2**31 - 1, description="impulse RAM (default: half the board's)"
    )
    flash_bytes: int | None = Field(
        default=None, gt=0, le=2**31 - 1, description="impulse flash (default: half the board's)"
    )
    latency_ms: float | None = Field(
        default=None,
        gt=0,
        le=3_600_000,
        allow_inf_nan=False,
        description="DSP + inference per window (default: the base impulse's stride)",
    )


class Budgets(BaseModel):
    ram_bytes: int = Field(description="arena + DSP buffers + anomaly + painted stack")
    flash_bytes: int = Field(description="model weights and code + DSP code + anomaly")
    latency_ms: float = Field(description="estimated time of DSP + inference per window")


class TunerRunCreate(BaseModel):
    board_id: str = Field(min_length=1, max_length=64, description="the target board")
    budgets: BudgetsIn | None = None
    max_trials: int = Field(default=30, ge=1, le=500)
    time_budget_s: int | None = Field(
        default=None, ge=60, le=86_400, description="no new trial starts after this many seconds"
    )
    parallel_trials: int | None = Field(
        default=None, ge=1, le=16,
        description="trials in flight at once; by default as many as the connected workers take "
        "(a new trial is asked whenever none is waiting for a worker)",
    )  # fmt: skip
    sampler: Sampler = Field(
        default="tpe", description="tpe (constrained TPE) or random (a seeded baseline)"
    )
    seed: int = Field(default=1, ge=0, le=2**31 - 1)
    dsp_blocks: list[str] | None = Field(
        default=None, max_length=MAX_BLOCKS, description="DSP blocks to try (default: all fitting)"
    )
    learn_blocks: list[str] | None = Field(
        default=None, max_length=MAX_BLOCKS, description="classifiers to try (default: all)"
    )
    max_epochs: int = Field(default=40, ge=1, le=500, description="training epochs of a trial")
    impulse_id: Id | None = Field(
        default=None, description="the base impulse: its frequency, and where trials apply"
    )
    dataset_version_id: Id | None = Field(
        default=None, description="a dataset version; a new snapshot is taken when absent"
    )


class TunerSettings(BaseModel):
    max_trials: int
    time_budget_s: int | None
    parallel_trials: int | None
    sampler: Sampler
    seed: int
    dsp_blocks: list[str]
    learn_blocks: list[str]
    max_epochs: int


class TrialAccuracy(BaseModel):
    float32_validation: float | None = None
    int8_validation: float | None = Field(default=None, description="the search's objective")
    float32_test: float | None = None
    int8_test: float | None = Field(default=None, description="reported, never used to choose")
    int8_validation_loss: float | None = Field(
        default=None,
        description="cross-entropy of the int8 scores on the validation split: among trials "
        "of equal validation accuracy (at most one window apart), the lower wins",
    )
    validation_windows: int | None = Field(default=None, description="windows validated on")


class TrialTimings(BaseModel):
    sizing_s: float | None = Field(
        default=None, description="the untrained network built and measured on the board"
    )
    features_s: float | None = None
    train_s: float | None = None
    convert_s: float | None = None
    evaluate_s: float | None = None
    build_s: float | None = None
    measure_s: float | None = None
    total_s: float | None = None


class TunerTrialOut(BaseModel):
    id: int
    number: int
    status: str
    params: dict[str, Any] = Field(description="the sampler's flat parameters")
    starting_point: bool = Field(
        description="the impulse the run started from, trained as every trial is (unsearched)"
    )
    spec: dict[str, Any] = Field(description="the impulse the trial trained")
    accuracy: TrialAccuracy
    ram_bytes: int | None = Field(description="impulse RAM measured on the board")
    flash_bytes: int | None = Field(description="impulse flash of the linked image")
    latency_ms: float | None = Field(description="estimated DSP + inference time per window")
    instructions: int | None = Field(description="instructions of one window, counted in QEMU")
    fits: bool | None = Field(description="within every budget (null until measured)")
    pareto: bool = Field(description="on the accuracy-RAM-latency front of the measured trials")
    best: bool
    error: str | None
    train_job_id: int | None
    measure_job_id: int | None
    timings: TrialTimings
    created_at: datetime
    finished_at: datetime | None


class TunerRunSummary(BaseModel):
    id: int
    status: str
    message: str | None
    board_id: str
    budgets: Budgets
    settings: TunerSettings
    sampler: Sampler
    trials_total: int
    trials_done: int
    best_trial_id: int | None
    best_accuracy: float | None = Field(
        description="int8 validation accuracy of the best fitting trial"
    )
    created_at: datetime
    finished_at: datetime | None


class TunerRunOut(TunerRunSummary):
    impulse_id: int | None
    dataset_version_id: int
    result_note: str | None = Field(description="what the run found, in a sentence")
    starting_point_note: str | None = Field(
        description="why the impulse the run started from is not one of its trials, if so"
    )
    trials: list[TunerTrialOut]


class TunerApplyIn(BaseModel):
    impulse_id: Id | None = Field(
        default=None,
        description="the impulse to save the trial into (default: the run's; a new impulse "
        "when the run has none)",
    )


class TunerApplyOut(BaseModel):
    impulse_id: int
    impulse_version: int
    training_run_id: int


class TunerDefaults(BaseModel):
    board_id: str
    budgets: Budgets
    board_ram_bytes: int
    board_flash_bytes: int
    dsp_blocks: list[str] = Field(description="DSP blocks that fit the project's data")
    learn_blocks: list[str]
    max_trials: int
    parallel_trials: int | None
