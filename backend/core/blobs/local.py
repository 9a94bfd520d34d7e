"""The blob store in a local directory: written to a temporary name and renamed."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from backend.core.blobs.base import BlobInfo, BlobStore, BlobStoreUnavailable, check_key, folder

# Errors that say the store itself cannot take writes, as opposed to a bad key or a bug.
UNWRITABLE_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENOTDIR, errno.EIO,
}  # fmt: skip


class LocalBlobStore(BlobStore):
    """Blobs as files under `root`, one file per key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def path(self, key: str) -> Path:
        """Where the blob of `key` lives on this host's disk."""
        return self.root / check_key(key)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turns the store refusing a write into a clear 503 instead of a bare OSError."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in UNWRITABLE_ERRNOS:
                raise
            raise BlobStoreUnavailable(
                self.location, f"cannot be written: {exc.strerror or exc}"
            ) from exc

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        with self._writing():
            return self._put(key, [data] if isinstance(data, bytes) else data)

    def _put(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
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
        target = self.path(key)
        with self._writing():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # A file from another filesystem (a build's temporary directory) is copied in.
                with source.open("rb") as handle:
                    self._put(key, iter(lambda: handle.read(1 << 20), b""))
                source.unlink()
        return target.stat().st_size

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        count = sum(1 for _ in self.iterate(prefix))
        shutil.rmtree(self.path(folder(prefix)), ignore_errors=True)
        return count

    def iterate(self, prefix: str = "") -> Iterator[BlobInfo]:
        top = self.root / folder(prefix)
        for directory, _subdirs, files in os.walk(top):
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
        # Inside the root, so put_file is a rename on the same filesystem.
        scratch = self.root / ".scratch"
        with self._writing():
            scratch.mkdir(parents=True, exist_ok=True)
        return scratch

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such blob", key)
        yield path
