"""TinyStudio's settings: one validated class, read from `TINYSTUDIO_*` environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "tinystudio-development-secret-change-me"
# Multipart parsing stops past this many files, before any setting is consulted.
MAX_FILES_CEILING = 10_000
# S3's own rule for bucket names, and an optional folder inside the bucket.
S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything configurable about a TinyStudio installation."""

    model_config = SettingsConfigDict(env_prefix="TINYSTUDIO_", env_file=None, extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=1, le=65535)
    data_dir: Path = Path.home() / ".tinystudio"

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory"
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker; default: kombu's SQLite transport in data_dir"
    )
    blob_dir: Path | None = Field(
        default=None, description="Local blob store directory; default: data_dir/blobs"
    )
    blob_url: str | None = Field(
        default=None, description="s3://bucket/prefix to keep blobs in S3-compatible storage"
    )
    blob_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible server, e.g. http://minio:9000; default: AWS"
    )
    blob_s3_region: str | None = None
    blob_s3_access_key_id: str | None = Field(
        default=None, description="default: AWS_ACCESS_KEY_ID and the rest of AWS's chain"
    )
    blob_s3_secret_access_key: SecretStr | None = None
    blob_s3_max_attempts: int = Field(default=3, ge=1, description="tries of one S3 request")
    blob_s3_multipart_bytes: int = Field(
        default=16 * MIB, ge=5 * MIB, description="uploads above this go in parts of this size"
    )
    blob_presigned_downloads: bool = Field(
        default=False,
        description="answer large downloads with a redirect to a short-lived presigned S3 URL",
    )
    blob_presigned_min_bytes: int = Field(default=8 * MIB, ge=0)
    blob_presigned_seconds: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    blob_s3_public_endpoint_url: str | None = Field(
        default=None, description="the S3 endpoint as browsers reach it, for presigned URLs"
    )
    blob_cache_dir: Path | None = Field(
        default=None, description="workers' cache of S3 blobs; default: data_dir/blob-cache"
    )
    blob_cache_max_bytes: int = Field(default=2048 * MIB, ge=0, description="0 turns it off")
    secret_key: str = DEV_SECRET_KEY
    allowed_origins: list[str] = Field(default_factory=list)
    session_days: int = Field(default=14, ge=1)
    cookie_secure: bool = False

    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_files_per_upload: int = Field(default=1000, ge=1, le=MAX_FILES_CEILING)
    max_axes: int = Field(default=64, ge=1)

    login_max_failures: int = Field(default=5, ge=1, description="failed log-ins per account")
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="failed log-ins per client address, over any accounts"
    )
    login_lockout_seconds: int = Field(default=60, ge=1)

    worker_concurrency: int = Field(default=2, ge=1)
    job_heartbeat_seconds: float = Field(default=10.0, gt=0)
    job_stale_seconds: float = Field(default=120.0, gt=0)
    job_max_attempts: int = Field(default=2, ge=1)

    virtual_boards_max: int = Field(default=5, ge=1, description="QEMU boards running at once")
    virtual_board_idle_seconds: float = Field(default=300.0, gt=0)
    virtual_board_max_seconds: float = Field(default=3600.0, gt=0)
    virtual_board_grace_seconds: float = Field(
        default=10.0, gt=0, description="how long a board outlives its last browser connection"
    )

    fleet_online_seconds: float = Field(
        default=300.0, gt=0, description="a device seen within this long is online"
    )
    fleet_telemetry_days: int = Field(default=30, ge=1, description="telemetry kept this long")
    fleet_batch_max: int = Field(default=500, ge=1, description="telemetry items per request")
    fleet_feature_psi_alert: float = Field(
        default=0.25, gt=0, description="a feature's PSI above this is drift"
    )
    fleet_label_psi_alert: float = Field(
        default=0.25, gt=0, description="the labels' PSI above this is drift"
    )

    @field_validator("blob_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None and not S3_URL.match(value):
            raise ValueError(
                f"TINYSTUDIO_BLOB_URL must look like s3://bucket/prefix (got {value!r})"
            )
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "TINYSTUDIO_SECRET_KEY must be set to a private random value in production"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("TINYSTUDIO_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tinystudio.sqlite'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.sqlite'}"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def resolved_blob_cache_dir(self) -> Path:
        return self.blob_cache_dir or self.data_dir / "blob-cache"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
