"""Tuner tables: a run (board, budgets, search settings) and its trials, where the search state
lives (Optuna's in-memory study is rebuilt from these rows whenever it is asked)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, utcnow


class RunStatus(enum.StrEnum):
    running = "running"
    succeeded = "succeeded"
    cancelled = "cancelled"
    failed = "failed"


class TrialStatus(enum.StrEnum):
    sizing = "sizing"  # the untrained network measured on the board: can it fit at all?
    queued = "queued"
    training = "training"
    measuring = "measuring"
    succeeded = "succeeded"
    over_budget = "over_budget"  # measured before training and over a budget: never trained
    pruned = "pruned"
    failed = "failed"
    cancelled = "cancelled"


IN_FLIGHT = frozenset(
    {TrialStatus.sizing, TrialStatus.queued, TrialStatus.training, TrialStatus.measuring}
)


class TunerRun(Base):
    __tablename__ = "tuner_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    impulse_id: Mapped[int | None] = mapped_column(
        ForeignKey("impulses.id", ondelete="SET NULL"), nullable=True
    )
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE")
    )
    board_id: Mapped[str] = mapped_column(String(64))
    budgets: Mapped[dict[str, Any]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.running, index=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # No foreign key: trials point at their run, and a cycle would complicate deletes.
    best_trial_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TunerTrial(Base):
    __tablename__ = "tuner_trials"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tuner_runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=TrialStatus.queued)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    distributions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    intermediate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    optuna_attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accuracy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ram_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flash_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    fits: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    train_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    measure_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
