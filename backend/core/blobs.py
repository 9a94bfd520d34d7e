"""The blob store: content in a local directory, written to a temporary name and renamed."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from backend.core.config import get_settings
from backend.core.errors import ApiError

# Errors that say the store itself cannot take writes, as opposed to a bad key or a bug.
UNWRITABLE_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENOTDIR, errno.EIO,
}  # fmt: skip


class BlobStoreUnavailable(ApiError):
    """The blob store refused a write (full, read-only, missing or not permitted)."""

    def __init__(self, root: Path, reason: str) -> None:
        super().__init__(
            503, "blob_store_unavailable", f"the blob store at {root} cannot be written: {reason}"
        )


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob as a listing sees it."""

    key: str
    size_bytes: int
    modified_at: datetime


class BlobStore:
    """Blobs addressed by relative keys such as `projects/3/exports/12.zip`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in Path(key).parts:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turns the store refusing a write into a clear 503 instead of a bare OSError."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in UNWRITABLE_ERRNOS:
                raise
            raise BlobStoreUnavailable(self.root, exc.strerror or str(exc)) from exc

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        """Store `data` under `key` atomically; returns its size."""
        with self._writing():
            return self._put(key, data)

    def _put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in [data] if isinstance(data, bytes) else data:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def put_file(self, key: str, source: Path) -> int:
        """Move an already written local file into the store under `key`."""
        target = self.path(key)
        with self._writing():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        return target.stat().st_size

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        """The blob for reading in pieces, so a large blob is never held in memory whole."""
        return self.path(key).open("rb")

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every blob whose key lies under the folder `prefix`; returns how many."""
        count = sum(1 for _ in self.iterate(prefix))
        shutil.rmtree(self.path(prefix.rstrip("/")), ignore_errors=True)
        return count

    def iterate(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Every blob under the folder `prefix` (all of them by default), with size and mtime."""
        folder = self.path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        for directory, _subdirs, files in os.walk(folder):
            for name in files:
                path = Path(directory) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted while listing
                    continue
                yield BlobInfo(
                    key=path.relative_to(self.root).as_posix(),
                    size_bytes=stat.st_size,
                    modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                )

    def scratch_dir(self) -> Path:
        """A directory on the same filesystem for files that will be moved in with put_file."""
        scratch = self.root / ".scratch"
        with self._writing():
            scratch.mkdir(parents=True, exist_ok=True)
        return scratch


@lru_cache
def get_blob_store() -> BlobStore:
    return BlobStore(get_settings().resolved_blob_dir)
