"""Reading and writing S3 objects as Python streams, without holding an object whole."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class ObjectReader(io.RawIOBase):
    """An S3 object read in pieces: one ranged GET per run of reads, a new one after a seek.

    `fetch(offset)` answers GetObject's response from `offset` to the end; the first response
    (from offset 0) is given up front, so a missing object or an unreachable server is known
    when the blob is opened, not in the middle of a download."""

    def __init__(self, fetch: Callable[[int], dict[str, Any]], first: dict[str, Any]) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = int(first["ContentLength"])
        self._body: Any = first["Body"]
        self._body_pos = 0  # where the open body's next byte lies
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        # Only moves the position: the body is replaced at the next read, if it must be.
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        if self._body is None or self._body_pos != self._pos:
            self._close_body()
            self._body = self._fetch(self._pos)["Body"]
            self._body_pos = self._pos
        data = self._body.read(min(len(buffer), self._size - self._pos))
        if not data:
            raise OSError(f"the object ended at byte {self._pos} of {self._size}")
        count = len(data)
        buffer[:count] = data
        self._pos += count
        self._body_pos = self._pos
        return count

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


class ChunkReader(io.RawIOBase):
    """Chunks from an iterable as a readable file, for uploads whose length is not known.

    Wrapped in io.BufferedReader, whose read(n) gives n bytes until the end, as S3 transfers
    expect."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")
        self.count = 0  # bytes handed out so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.count += count
        return count
