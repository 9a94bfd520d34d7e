"""CSV uploads: a ``timestamp`` column in milliseconds plus one column per axis, read as a stream.

Header cells name the sensors. A unit may follow the name in parentheses or brackets —
``accX (m/s2)`` or ``accX [m/s2]`` — and is stored as the sensor's units; without one the
units are ``N/A`` (what Edge Impulse's tools write). The timestamp column may be anywhere and
may carry a unit too (``timestamp (ms)``); it is matched case-insensitively. The delimiter is
``,``, or ``;`` / tab when the header uses those instead; fields may be double-quoted.

The interval is the mean step between timestamps. Timestamps must increase strictly, and in
``reject`` mode every step must be within 10 % of the median step (which tolerates times
rounded to whole milliseconds, e.g. 16/17 ms steps at 60 Hz, but not a dropped sample). In
``resample`` mode the values are linearly interpolated onto a regular grid whose step is the
median step.

The file is parsed in blocks of about 4 MiB with numpy's C reader; a block that fails is
re-read line by line so the error names the exact line and column.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Literal

import numpy as np

from backend.datasets.formats.errors import UploadError
from backend.datasets.formats.model import (
    HashingReader,
    MiB,
    ParsedSample,
    UploadLimits,
    check_values,
)

CsvIrregular = Literal["reject", "resample"]

BLOCK_BYTES = 4 * MiB
# A row of 64 axes is a few kilobytes; a "line" of megabytes is not CSV.
MAX_LINE_BYTES = 1 * MiB
IRREGULAR_TOLERANCE = 0.10
DEFAULT_UNITS = "N/A"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NAME_WITH_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<units>[^\)\]]*)[\)\]]\s*$")


def parse_csv(
    filename: str,
    reader: HashingReader,
    *,
    limits: UploadLimits,
    irregular: CsvIrregular = "reject",
) -> ParsedSample:
    """Parse a CSV upload from ``reader`` (streaming, in blocks) into a sample."""
    if irregular not in ("reject", "resample"):
        raise ValueError(f"csv_irregular must be 'reject' or 'resample', not {irregular!r}")
    blocks = _Blocks(filename, reader)
    header_line = blocks.header()
    if header_line is None:
        raise UploadError(filename, "the file is empty")
    delimiter = _delimiter(header_line)
    try:
        cells = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as exc:
        raise UploadError(filename, f"malformed header: {exc}", line=1) from None
    time_column, sensors = _header(filename, cells, limits)
    columns = len(cells)

    times: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    rows = 0
    for first_line, text, line_count in blocks:
        table = _parse_block(filename, text, first_line, line_count, delimiter, cells)
        rows += table.shape[0]
        if rows * (columns - 1) > limits.max_values:
            raise UploadError(
                filename,
                f"more than {limits.max_values} values",
                line=first_line + table.shape[0] - 1,
                http_status=413,
            )
        times.append(table[:, time_column].copy())
        chunks.append(np.delete(table, time_column, axis=1).astype(np.float32))
        del table
    if rows == 0:
        raise UploadError(filename, "the file has a header but no rows", line=2)
    if rows < 2:
        raise UploadError(filename, "at least two rows are needed to know the interval", line=2)
    timestamps = np.concatenate(times)
    del times
    values = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    del chunks

    steps = np.diff(timestamps)
    not_increasing = np.flatnonzero(steps <= 0)
    if not_increasing.size:
        row = int(not_increasing[0]) + 1
        raise UploadError(
            filename,
            f"timestamp {timestamps[row]:g} does not increase (previous {timestamps[row - 1]:g})",
            line=row + 2,
            field=cells[time_column].strip(),
        )
    # Steps are judged against the median step, so the line named is the one with the gap.
    typical = float(np.median(steps))
    off = np.flatnonzero(np.abs(steps - typical) > IRREGULAR_TOLERANCE * typical)
    if not off.size:
        interval = float(timestamps[-1] - timestamps[0]) / (rows - 1)
    elif irregular == "reject":
        row = int(off[0]) + 1
        raise UploadError(
            filename,
            f"irregular timestamps: step {steps[row - 1]:g} ms, expected about "
            f"{typical:g} ms (upload again with resampling to interpolate)",
            line=row + 2,
            field=cells[time_column].strip(),
        )
    else:
        interval = typical
        values = _resample(timestamps, values, interval)
    values = check_values(filename, values, limits)
    sample = ParsedSample(values=values, sensors=sensors, interval_ms=interval, format="csv")
    return reader.finish(sample)


def _resample(timestamps: np.ndarray, values: np.ndarray, interval: float) -> np.ndarray:
    """Linear interpolation of each axis onto ``timestamps[0] + k * interval``."""
    count = int(np.floor((timestamps[-1] - timestamps[0]) / interval + 1e-9)) + 1
    grid = timestamps[0] + np.arange(count, dtype=np.float64) * interval
    out = np.empty((count, values.shape[1]), dtype=np.float32)
    for axis in range(values.shape[1]):
        out[:, axis] = np.interp(grid, timestamps, values[:, axis].astype(np.float64))
    return out


def _delimiter(header: str) -> str:
    if "," in header:
        return ","
    if ";" in header:
        return ";"
    if "\t" in header:
        return "\t"
    return ","


def split_name_units(cell: str) -> tuple[str, str]:
    """``"accX (m/s2)"`` -> ``("accX", "m/s2")``; a bare name gets units ``N/A``."""
    text = cell.strip()
    match = _NAME_WITH_UNIT.match(text)
    if match and match.group("name").strip():
        return match.group("name").strip(), match.group("units").strip() or DEFAULT_UNITS
    return text, DEFAULT_UNITS


def _header(
    filename: str, cells: list[str], limits: UploadLimits
) -> tuple[int, list[tuple[str, str]]]:
    names = [split_name_units(cell) for cell in cells]
    time_columns = [i for i, (name, _) in enumerate(names) if name.lower() == "timestamp"]
    if not time_columns:
        raise UploadError(
            filename, "the header has no 'timestamp' column", line=1, field="timestamp"
        )
    if len(time_columns) > 1:
        raise UploadError(filename, "the header has two 'timestamp' columns", line=1)
    time_column = time_columns[0]
    sensors = [pair for i, pair in enumerate(names) if i != time_column]
    if not sensors:
        raise UploadError(filename, "the header has no sensor column besides 'timestamp'", line=1)
    if len(sensors) > limits.max_axes:
        raise UploadError(
            filename,
            f"{len(sensors)} axes is more than the limit of {limits.max_axes}",
            line=1,
            http_status=413,
        )
    seen: set[str] = set()
    for column, (name, _) in enumerate(names):
        if not name:
            raise UploadError(filename, f"column {column + 1} has no name", line=1)
        if name in seen:
            raise UploadError(filename, f"duplicate column {name!r}", line=1, field=name)
        seen.add(name)
    return time_column, sensors


class _Blocks:
    """Splits the upload into blocks of whole lines, decoding UTF-8 and tracking line numbers."""

    def __init__(self, filename: str, reader: HashingReader) -> None:
        self.filename = filename
        self.reader = reader
        self.pending = b""
        self.next_line = 1
        self.eof = False

    def _fill(self) -> None:
        while not self.eof and b"\n" not in self.pending:
            if len(self.pending) > MAX_LINE_BYTES:
                raise UploadError(self.filename, "the header line is too long", line=1)
            chunk = self.reader.read(BLOCK_BYTES)
            if not chunk:
                self.eof = True
            else:
                self.pending += chunk

    def _decode(self, raw: bytes, first_line: int) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = first_line + raw[: exc.start].count(b"\n")
            raise UploadError(self.filename, "the file is not UTF-8 text", line=line) from None
        return text.replace("\r\n", "\n") if "\r" in text else text

    def header(self) -> str | None:
        """The first line (BOM removed), or None for an empty or whitespace-only file."""
        self._fill()
        if self.pending.startswith(b"\xef\xbb\xbf"):
            self.pending = self.pending[3:]
        cut = self.pending.find(b"\n")
        raw, self.pending = (
            (self.pending, b"") if cut < 0 else (self.pending[:cut], self.pending[cut + 1 :])
        )
        self.next_line = 2
        text = self._decode(raw, 1).rstrip("\r")
        if not text.strip():
            if self.pending.strip() or not self.eof:
                raise UploadError(self.filename, "the first line must be the header", line=1)
            return None
        return text

    def __iter__(self) -> _Blocks:
        return self

    def __next__(self) -> tuple[int, str, int]:
        """The next (first line number, text of whole lines, number of lines)."""
        while True:
            if not self.eof and len(self.pending) < BLOCK_BYTES:
                chunk = self.reader.read(BLOCK_BYTES)
                if chunk:
                    self.pending += chunk
                    continue
                self.eof = True
            if self.eof:
                raw, self.pending = self.pending, b""
                # Blank lines at the very end are what editors leave; they are not rows.
                raw = raw.rstrip(b"\r\n \t")
                if not raw:
                    raise StopIteration
                raw += b"\n"
            else:
                cut = self.pending.rfind(b"\n")
                if cut < 0:
                    if len(self.pending) > MAX_LINE_BYTES:
                        raise UploadError(self.filename, "a line is too long", line=self.next_line)
                    chunk = self.reader.read(BLOCK_BYTES)
                    if not chunk:
                        self.eof = True
                    self.pending += chunk
                    continue
                raw, self.pending = self.pending[: cut + 1], self.pending[cut + 1 :]
            first = self.next_line
            count = raw.count(b"\n")
            self.next_line += count
            return first, self._decode(raw, first), count


def _parse_block(
    filename: str,
    text: str,
    first_line: int,
    line_count: int,
    delimiter: str,
    cells: list[str],
) -> np.ndarray:
    columns = len(cells)
    try:
        table = np.loadtxt(
            io.StringIO(text),
            delimiter=delimiter,
            dtype=np.float64,
            quotechar='"',
            ndmin=2,
            comments=None,
        )
        if (
            table.shape == (line_count, columns)
            and np.isfinite(table).all()
            and float(np.abs(table).max()) <= _FLOAT32_MAX
        ):
            return table
    except ValueError:
        pass
    # Something is wrong in this block: find the first bad line and say exactly what.
    _raise_first_error(filename, text, first_line, delimiter, cells)
    raise AssertionError("a block that numpy refused parsed line by line")  # pragma: no cover


def _raise_first_error(
    filename: str, text: str, first_line: int, delimiter: str, cells: list[str]
) -> None:
    columns = len(cells)
    for offset, line in enumerate(text.split("\n")[:-1]):
        number = first_line + offset
        if not line.strip():
            raise UploadError(filename, "empty line in the middle of the data", line=number)
        try:
            fields = next(csv.reader([line], delimiter=delimiter))
        except csv.Error as exc:
            raise UploadError(filename, f"malformed line: {exc}", line=number) from None
        if len(fields) != columns:
            raise UploadError(
                filename, f"{len(fields)} fields, the header has {columns}", line=number
            )
        for column, field in enumerate(fields):
            name = cells[column].strip()
            try:
                value = float(field)
            except ValueError:
                raise UploadError(
                    filename, f"{field.strip()!r} is not a number", line=number, field=name
                ) from None
            if not np.isfinite(value):
                raise UploadError(
                    filename, f"{field.strip()!r} is not a finite number", line=number, field=name
                )
            if abs(value) > _FLOAT32_MAX:
                raise UploadError(
                    filename, f"{field.strip()!r} is outside float32", line=number, field=name
                )
