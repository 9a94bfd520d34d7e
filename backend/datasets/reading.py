"""Reading a sample's values in bounded memory: pages of JSON rows, plots and audio, all computed
from blocks of the float32 blob rather than from the whole blob at once."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.core.blobs import get_blob_store
from backend.core.errors import bad_request
from backend.datasets.formats.acquisition_writer import json_rows
from backend.datasets.models import Sample

VALUE_BYTES = 4  # values are little-endian float32, row after row
BLOCK_VALUES = 1 << 18  # 1 MiB of float32 per read
MAX_PAGE_VALUES = 1_000_000
MAX_PLOT_POINTS = 20_000
WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


@dataclass(frozen=True)
class ValuesBlob:
    """Where a sample's values are and their shape; plain data, usable after the session ends."""

    key: str
    length: int
    axes: int
    interval_ms: float

    @classmethod
    def of(cls, sample: Sample) -> ValuesBlob:
        return cls(sample.values_key, sample.length, sample.axes, sample.interval_ms)

    def check(self) -> None:
        """Fails now (a 503 when the store cannot serve) rather than in the middle of a
        streamed answer, whose status is already sent."""
        get_blob_store().size(self.key)

    def blocks(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, rows x axes block) pairs covering rows [start, stop), one read each."""
        stop = self.length if stop is None else min(stop, self.length)
        block_rows = max(1, BLOCK_VALUES // self.axes)
        row_bytes = self.axes * VALUE_BYTES
        with get_blob_store().open(self.key) as handle:
            handle.seek(start * row_bytes)
            for first in range(start, stop, block_rows):
                rows = min(block_rows, stop - first)
                data = handle.read(rows * row_bytes)
                if len(data) != rows * row_bytes:
                    raise OSError(f"values blob {self.key} is shorter than {self.length} rows")
                yield first, np.frombuffer(data, dtype="<f4").reshape(rows, self.axes)


@dataclass(frozen=True)
class ValuesPage:
    """Rows [start, start + count) of a sample as a streamed JSON document."""

    blob: ValuesBlob
    start: int
    count: int

    @property
    def next_start(self) -> int | None:
        end = self.start + self.count
        return end if end < self.blob.length else None

    def json_chunks(self, head: dict[str, Any]) -> Iterator[bytes]:
        """`head` plus paging fields and `values`, written block by block."""
        document = {
            **head,
            "length": self.blob.length,
            "start": self.start,
            "count": self.count,
            "next_start": self.next_start,
        }
        yield json.dumps(document)[:-1].encode() + b', "values": ['
        for first, block in self.blob.blocks(self.start, self.start + self.count):
            yield (("," if first > self.start else "") + json_rows(block)).encode()
        yield b"]}"


def values_page(sample: Sample, start: int, count: int | None) -> ValuesPage:
    """The page of rows asked for, at most MAX_PAGE_VALUES values (count is capped to fit)."""
    if start >= sample.length:
        raise bad_request(
            "invalid_range",
            f"start {start} is past the last row of this {sample.length}-row sample",
            field="start",
        )
    most = max(1, MAX_PAGE_VALUES // sample.axes)
    rows = min(count or most, most, sample.length - start)
    return ValuesPage(ValuesBlob.of(sample), start, rows)


def _extreme_rows(blob: ValuesBlob, buckets: int) -> np.ndarray:
    """Per bucket of rows and per axis, the rows of the minimum and the maximum, read by block."""
    edges = np.linspace(0, blob.length, buckets + 1).astype(np.int64)
    low = np.full((buckets, blob.axes), np.inf, dtype=np.float32)
    high = np.full((buckets, blob.axes), -np.inf, dtype=np.float32)
    low_row = np.zeros((buckets, blob.axes), dtype=np.int64)
    high_row = np.zeros((buckets, blob.axes), dtype=np.int64)
    axes = np.arange(blob.axes)
    for first, block in blob.blocks():
        last = first + block.shape[0]
        bucket = int(np.searchsorted(edges, first, side="right")) - 1
        while bucket < buckets and edges[bucket] < last:
            lo, hi = max(edges[bucket], first) - first, min(edges[bucket + 1], last) - first
            part = block[lo:hi]
            at_min, at_max = part.argmin(axis=0), part.argmax(axis=0)
            # Strict comparisons keep the earliest row of a repeated extreme, as argmin does.
            lower = part[at_min, axes] < low[bucket]
            low[bucket, lower] = part[at_min, axes][lower]
            low_row[bucket, lower] = first + lo + at_min[lower]
            higher = part[at_max, axes] > high[bucket]
            high[bucket, higher] = part[at_max, axes][higher]
            high_row[bucket, higher] = first + lo + at_max[higher]
            bucket += 1
    # One index set for all axes: every axis keeps its extremes at their own rows.
    return np.unique(np.concatenate([low_row.ravel(), high_row.ravel()]))


def plot_values(sample: Sample, max_points: int) -> dict[str, Any]:
    """At most `max_points` rows for plotting: min and max per bucket and axis, so peaks survive."""
    blob = ValuesBlob.of(sample)
    if blob.length <= max_points:
        rows = np.arange(blob.length)
        picked = np.concatenate([block for _, block in blob.blocks()])
    else:
        rows = _extreme_rows(blob, max(1, max_points // (2 * blob.axes)))
        picked = np.empty((len(rows), blob.axes), dtype=np.float32)
        for first, block in blob.blocks():
            inside = (rows >= first) & (rows < first + block.shape[0])
            picked[inside] = block[rows[inside] - first]
    return {
        "sample_id": sample.id,
        "interval_ms": sample.interval_ms,
        "length": sample.length,
        "downsampled": bool(len(rows) < sample.length),
        "t_ms": (rows * sample.interval_ms).round(6).tolist(),
        "axes": [
            {"name": s["name"], "units": s["units"], "values": picked[:, i].tolist()}
            for i, s in enumerate(sample.sensors)
        ],
    }


@dataclass(frozen=True)
class AudioStream:
    """The sample's first axis as a 16-bit PCM WAV, written block by block."""

    blob: ValuesBlob

    @property
    def rate(self) -> int:
        return max(int(round(1000.0 / self.blob.interval_ms)), 1)

    @property
    def size(self) -> int:
        return WAV_HEADER.size + 2 * self.blob.length

    def _scale(self) -> float:
        peak = 0.0
        for _, block in self.blob.blocks():
            peak = max(peak, float(np.max(np.abs(block[:, 0]))))
        if 0 < peak <= 1.0:
            return 32767.0  # float audio in [-1, 1]
        if peak > 32767.0:
            return 32767.0 / peak
        return 1.0

    def chunks(self) -> Iterator[bytes]:
        data = 2 * self.blob.length
        rate = self.rate
        yield WAV_HEADER.pack(
            b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", data
        )
        scale = self._scale()
        for _, block in self.blob.blocks():
            values = block[:, 0].astype(np.float64) * scale
            yield np.clip(np.round(values), -32768, 32767).astype("<i2").tobytes()
