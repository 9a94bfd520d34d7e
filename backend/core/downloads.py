"""Blob downloads over HTTP: streamed from the store piece by piece, or, for large blobs in a
bucket when TINYSTUDIO_BLOB_PRESIGNED_DOWNLOADS is on, a redirect to a short-lived presigned URL
so the bytes do not pass through the API."""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Iterator
from typing import BinaryIO

from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from backend.core.blobs import get_blob_store
from backend.core.blobs.base import content_disposition
from backend.core.config import get_settings
from backend.core.errors import ApiError

CHUNK_BYTES = 1 << 20


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        yield from iter(lambda: handle.read(CHUNK_BYTES), b"")


def blob_download(key: str, *, filename: str, media_type: str | None = None) -> Response:
    """The blob `key` as an attachment named `filename` (its type guessed from the name when
    not given)."""
    store = get_blob_store()
    settings = get_settings()
    media_type = media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    try:
        if settings.blob_presigned_downloads and (
            store.size(key) >= settings.blob_presigned_min_bytes
        ):
            url = store.presign(
                key, filename=filename, media_type=media_type,
                expires_seconds=settings.blob_presigned_seconds,
            )  # fmt: skip
            if url is not None:
                return RedirectResponse(url, status_code=307)
        # Opened before answering, so a store that cannot serve answers 503, not a cut body.
        handle = store.open(key)
    except FileNotFoundError:
        raise ApiError(404, "blob_not_found", f"{filename} is no longer stored") from None
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    return StreamingResponse(
        _chunks(handle),
        media_type=media_type,
        headers={"content-length": str(size), "content-disposition": content_disposition(filename)},
    )
