"""What every blob store offers. Keys such as `projects/3/exports/12.zip` are the only addresses:
callers never build paths, so the same code runs on a local directory and on a bucket."""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from backend.core.errors import ApiError


class BlobStoreUnavailable(ApiError):
    """The blob store cannot serve: full, read-only, missing, unreachable or refusing us."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(503, "blob_store_unavailable", f"the blob store at {location} {problem}")


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob as a listing sees it."""

    key: str
    size_bytes: int
    modified_at: datetime


def check_key(key: str) -> str:
    """`key` if it is a relative key that stays inside the store, else ValueError."""
    if not key or key.startswith("/") or ".." in PurePosixPath(key).parts:
        raise ValueError(f"invalid blob key {key!r}")
    return key


def folder(prefix: str) -> str:
    """A prefix as the folder it names: `projects/3` and `projects/3/` both give `projects/3/`."""
    stripped = prefix.strip("/")
    return f"{check_key(stripped)}/" if stripped else ""


def content_disposition(filename: str) -> str:
    """An attachment header for `filename`, with RFC 5987 encoding when it is not plain ASCII."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


class BlobStore(ABC):
    """Blobs addressed by relative keys; every write is whole or not at all."""

    location: str  # where the blobs are, as messages name it

    @abstractmethod
    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        """Stores `data` (bytes, or chunks streamed in order) under `key`; returns its size."""

    @abstractmethod
    def put_file(self, key: str, source: Path) -> int:
        """Moves a finished local file into the store under `key` (it is gone afterwards)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The whole blob; FileNotFoundError when there is none."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The blob for reading in pieces (seekable), so a large blob is never held whole."""

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Deletes the blob; a missing one is not an error."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Deletes every blob whose key lies under the folder `prefix`; returns how many."""

    @abstractmethod
    def iterate(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Every blob under the folder `prefix` (all of them by default), with size and mtime."""

    @abstractmethod
    def scratch_dir(self) -> Path:
        """A local directory for files that will go into the store with put_file."""

    @abstractmethod
    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """The blob as a real local file (for tools that take a path), for the `with` block."""

    def presign(
        self, key: str, *, filename: str, media_type: str, expires_seconds: int
    ) -> str | None:
        """A short-lived URL a browser can download the blob from, where the store has them."""
        return None

    @contextlib.contextmanager
    def scratch_file(self, suffix: str = "") -> Iterator[Path]:
        """A new empty file in the scratch directory, removed after the `with` block."""
        handle, name = tempfile.mkstemp(dir=self.scratch_dir(), prefix="scratch-", suffix=suffix)
        os.close(handle)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)
