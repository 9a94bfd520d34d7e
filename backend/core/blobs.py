"""The blob store: content in a local directory, written to a temporary name and renamed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from backend.core.config import get_settings


class BlobStore:
    """Blobs addressed by relative keys such as `projects/3/exports/12.zip`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in Path(key).parts:
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        """Store `data` under `key` atomically; returns its size."""
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
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return target.stat().st_size

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def scratch_dir(self) -> Path:
        """A directory on the same filesystem for files that will be moved in with put_file."""
        scratch = self.root / ".scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        return scratch


@lru_cache
def get_blob_store() -> BlobStore:
    return BlobStore(get_settings().resolved_blob_dir)
