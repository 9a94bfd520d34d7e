"""The uploaded-model table: the file a user brought, its int8 model and what was learned of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, utcnow


class ModelStatus(StrEnum):
    importing = "importing"  # its import job has not finished
    ready = "ready"  # described (and quantized, if it was float)
    failed = "failed"  # the import job refused it; `error` says why


class UploadedModel(Base):
    __tablename__ = "uploaded_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    # "tflite", "keras" or "h5": how the original is read.
    source_format: Mapped[str] = mapped_column(String(16))
    original_key: Mapped[str] = mapped_column(String(512))
    original_bytes: Mapped[int] = mapped_column()
    representative_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.importing)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    import_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    profile_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    library_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    # The int8 model (the original itself when it was int8), an artifact of the import job.
    int8_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id", ondelete="SET NULL"), nullable=True
    )
    # The zipped C library of the model, an artifact of the library job.
    library_artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifacts.id", ondelete="SET NULL"), nullable=True
    )
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quantization: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
