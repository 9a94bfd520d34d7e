"""The blob store: one interface (base), a local directory (local) or an S3-compatible bucket (s3)
behind it, chosen by the settings (factory), and the workers' cache of immutable blobs (cache)."""

from backend.core.blobs.base import BlobInfo, BlobStore, BlobStoreUnavailable
from backend.core.blobs.factory import get_blob_store, store_for
from backend.core.blobs.local import LocalBlobStore

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobStoreUnavailable",
    "LocalBlobStore",
    "get_blob_store",
    "store_for",
]
