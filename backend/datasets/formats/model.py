"""What a parsed upload is (ParsedSample), the limits uploads are held to, a hashing reader."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

import numpy as np

from backend.datasets.formats.errors import UploadError

UploadFormat = Literal["json", "cbor", "csv", "wav"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """Bounds every upload is checked against; the defaults suit one person's machine.

    ``max_document_bytes`` bounds JSON and CBOR, which are decoded whole: measured peaks are
    about 8x the document for JSON and 14x for CBOR (Python objects per value), so 32 MiB
    costs up to ~450 MB. CSV and WAV are read in a streaming fashion and only bounded by
    ``max_file_bytes`` and ``max_values``.
    """

    max_file_bytes: int = 256 * MiB
    max_document_bytes: int = 32 * MiB
    max_axes: int = 64
    # 64 Mi float32 values = 256 MiB once parsed: a 100 MB 16-bit WAV (50 M values) fits.
    max_values: int = 64 * MiB
    max_zip_entries: int = 20_000
    max_zip_entry_bytes: int = 64 * MiB
    max_zip_total_bytes: int = 1024 * MiB
    max_compression_ratio: float = 200.0
    # Tiny entries compress absurdly well without being bombs; the ratio applies above this.
    compression_ratio_min_bytes: int = 1 * MiB


@dataclass
class ParsedSample:
    """One sample decoded from an upload, ready to be stored.

    ``values`` is float32, time x axes, C-contiguous. ``original_bytes`` is the very object the
    caller passed when it passed ``bytes`` (no copy is made) and None when it passed a stream:
    the caller already holds that stream (typically a spooled temporary file) and stores the
    original from it. ``sha256`` and ``size_bytes`` always describe the original upload.
    """

    values: np.ndarray
    sensors: list[tuple[str, str]]
    interval_ms: float
    format: UploadFormat
    device_name: str | None = None
    device_type: str | None = None
    label_from_name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    original_bytes: bytes | None = None
    sha256: str = ""
    size_bytes: int = 0
    # True when the document carried an HS256 signature that was checked with the project's key.
    signature_verified: bool = False
    # The acquisition document's `protected.iat` (seconds since the epoch), when it had one.
    created_at_s: int | None = None

    @property
    def length_ms(self) -> float:
        """Duration of the sample: rows times the interval."""
        return float(self.values.shape[0]) * self.interval_ms

    @property
    def axes(self) -> int:
        """Number of axes (columns of ``values``)."""
        return int(self.values.shape[1])


class HashingReader:
    """Reads an upload once, hashing and counting every byte and refusing what is over the limit."""

    def __init__(self, filename: str, data: bytes | BinaryIO, max_bytes: int) -> None:
        self.filename = filename
        self.max_bytes = max_bytes
        self.original: bytes | None
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data) if not isinstance(data, bytes) else data
            self.original = raw
            if len(raw) > max_bytes:
                raise over_limit(filename, len(raw), max_bytes)
            # BytesIO over an immutable bytes object shares its buffer until written to.
            self._stream: BinaryIO = io.BytesIO(raw)
            self._hash = hashlib.sha256(raw)
            self._prehashed = True
        else:
            self.original = None
            self._stream = data
            self._hash = hashlib.sha256()
            self._prehashed = False
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all when negative), hashing them on the way."""
        if n is None or n < 0:
            chunks = []
            while True:
                chunk = self.read(4 * MiB)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        chunk = self._stream.read(n)
        if chunk:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise over_limit(self.filename, self.size, self.max_bytes)
            if not self._prehashed:
                self._hash.update(chunk)
        return chunk

    def read_exact(self, n: int) -> bytes:
        """Read exactly ``n`` bytes unless the upload ends first (then return what there was)."""
        parts = []
        left = n
        while left > 0:
            chunk = self.read(left)
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def drain(self) -> None:
        """Read to the end so the hash and the size cover the whole upload."""
        while self.read(4 * MiB):
            pass

    def read_all(self, max_bytes: int) -> bytes:
        """The whole upload as bytes, refusing it beyond ``max_bytes``."""
        if self.original is not None:
            if len(self.original) > max_bytes:
                raise over_limit(self.filename, len(self.original), max_bytes)
            self.size = len(self.original)
            self._stream.seek(0, io.SEEK_END)
            return self.original
        limit = min(max_bytes, self.max_bytes)
        chunks = []
        while True:
            chunk = self._stream.read(4 * MiB)
            if not chunk:
                break
            self.size += len(chunk)
            if self.size > limit:
                raise over_limit(self.filename, self.size, limit)
            self._hash.update(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def sha256(self) -> str:
        """Hex digest of everything read so far (of the whole upload once drained)."""
        return self._hash.hexdigest()

    def finish(self, sample: ParsedSample) -> ParsedSample:
        """Drain the rest of the upload and stamp the sample with the original's identity."""
        self.drain()
        sample.original_bytes = self.original
        sample.sha256 = self.sha256
        sample.size_bytes = len(self.original) if self.original is not None else self.size
        return sample


def over_limit(filename: str, size: int, limit: int) -> UploadError:
    """The refusal for an upload larger than a limit."""
    return UploadError(
        filename,
        f"file is larger than the limit of {limit} bytes (at least {size} bytes)",
        http_status=413,
    )


def check_values(
    filename: str,
    values: np.ndarray,
    limits: UploadLimits,
    *,
    field_name: str = "values",
) -> np.ndarray:
    """Check a (time x axes) array's shape and size; return it as C-contiguous float32."""
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise UploadError(filename, "the sample has no values", field=field_name)
    if values.shape[1] > limits.max_axes:
        raise UploadError(
            filename,
            f"{values.shape[1]} axes is more than the limit of {limits.max_axes}",
            field=field_name,
            http_status=413,
        )
    if values.size > limits.max_values:
        raise UploadError(
            filename,
            f"{values.size} values is more than the limit of {limits.max_values}",
            field=field_name,
            http_status=413,
        )
    return np.ascontiguousarray(values, dtype=np.float32)
