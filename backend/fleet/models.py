"""The fleet's tables: devices registered to a project and the telemetry they report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, utcnow


class Device(Base):
    """A board in the field running one of the project's models."""

    __tablename__ = "fleet_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    board_id: Mapped[str] = mapped_column(String(64))
    firmware_version: Mapped[str] = mapped_column(String(64))
    # The model it runs: a training run, named directly or through one of its deployments.
    training_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_runs.id", ondelete="SET NULL"), nullable=True
    )
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    registered_by_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Telemetry(Base):
    """One summary a device reported: a window (or several, `count`) it classified.

    Append-only; (device, seq) is unique so a batch sent twice is stored once."""

    __tablename__ = "fleet_telemetry"
    __table_args__ = (
        UniqueConstraint("device_id", "seq"),
        Index("ix_fleet_telemetry_project_id_device_id_time", "project_id", "device_id", "time"),
        # Retention deletes by age over every project.
        Index("ix_fleet_telemetry_time", "time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("fleet_devices.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    top_score: Mapped[float] = mapped_column(Float)
    anomaly_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    count: Mapped[int] = mapped_column(Integer)
    feature_means: Mapped[list[float]] = mapped_column(JSON)
    feature_variances: Mapped[list[float]] = mapped_column(JSON)
    # One raw window the device sampled (time x axes), kept to become a sample for review.
    raw_values: Mapped[list[list[float]] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    raw_interval_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    raw_sensors: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    sample_id: Mapped[int | None] = mapped_column(
        ForeignKey("samples.id", ondelete="SET NULL"), nullable=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
