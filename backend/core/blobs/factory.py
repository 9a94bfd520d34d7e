"""The blob store the settings choose: a local directory by default, or an S3-compatible bucket
when TINYSTUDIO_BLOB_URL is `s3://bucket/prefix`."""

from __future__ import annotations

from functools import lru_cache

from backend.core.blobs.base import BlobStore
from backend.core.blobs.local import LocalBlobStore
from backend.core.config import Settings, get_settings


def store_for(settings: Settings, url: str | None = None) -> BlobStore:
    """The store at `url` (default: the configured one), reached with the settings' S3 options."""
    url = url or settings.blob_url
    if url is None:
        return LocalBlobStore(settings.resolved_blob_dir)
    # Imported here: boto3 is loaded only by installations that keep blobs in a bucket.
    from backend.core.blobs.s3 import S3BlobStore, S3Options

    secret = settings.blob_s3_secret_access_key
    options = S3Options(
        endpoint_url=settings.blob_s3_endpoint_url,
        region=settings.blob_s3_region,
        access_key_id=settings.blob_s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        public_endpoint_url=settings.blob_s3_public_endpoint_url,
        max_attempts=settings.blob_s3_max_attempts,
        multipart_bytes=settings.blob_s3_multipart_bytes,
    )
    return S3BlobStore(url, options, scratch=settings.data_dir / "scratch")


@lru_cache
def get_blob_store() -> BlobStore:
    """The process-wide blob store."""
    return store_for(get_settings())
