"""Dataset tables: samples (values and original upload in the blob store) and dataset versions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, utcnow


class Category(enum.StrEnum):
    training = "training"
    testing = "testing"
    anomaly = "anomaly"


class Sample(Base):
    """One recording: float32 values (time x axes) plus the original upload, both as blobs."""

    __tablename__ = "samples"
    __table_args__ = (
        Index("ix_samples_project_id_sha256", "project_id", "sha256"),
        Index("ix_samples_project_id_label", "project_id", "label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(128), nullable=True)
    category: Mapped[str] = mapped_column(String(16))
    sensors: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    interval_ms: Mapped[float] = mapped_column(Float)
    length: Mapped[int] = mapped_column(Integer)
    axes: Mapped[int] = mapped_column(Integer)
    values_key: Mapped[str] = mapped_column(String(500))
    values_sha256: Mapped[str] = mapped_column(String(64))
    original_key: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(255))
    original_format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    device_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sample_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    signature_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_by_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # Optimistic concurrency: an edit based on an old version is refused, never lost silently.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def duration_ms(self) -> float:
        return self.length * self.interval_ms


class DatasetVersion(Base):
    """A named snapshot of which samples (with labels, categories and values) a run used."""

    __tablename__ = "dataset_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    sample_count: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
