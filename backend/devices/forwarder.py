"""The serial data forwarder: a board prints readings line by line, TinyStudio records samples.

Protocol (Edge Impulse's data forwarder): one reading per line, values separated by commas,
tabs or spaces, 115200 baud by default. The number of axes and the frequency are detected by
counting complete lines over one second, dropping the first and last lines when they are
partial (the port is opened mid-line and the window closes mid-line). A line starting with
``ERR`` aborts. Recorded samples are uploaded as Edge Impulse acquisition JSON to TinyStudio's
ingestion API, ``POST {server}/api/{category}/data``, exactly as Edge Impulse's forwarder does.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import click
import numpy as np

DEFAULT_BAUD = 115200
DETECT_WINDOW_S = 1.0
DEVICE_TYPE = "DATA_FORWARDER"
CATEGORIES = ("training", "testing", "anomaly")
_SEPARATORS = re.compile(r"[,\t ]+")
# Detected rates this close to a whole number of hertz are reported as that number.
_SNAP_HZ = 0.25


class ForwarderError(Exception):
    """The board's stream cannot be used (no data, inconsistent lines, timeouts)."""


class ForwarderAbort(ForwarderError):
    """The board printed a line starting with ERR: forwarding stops with its message."""


class SerialPort(Protocol):
    """The part of pyserial's ``Serial`` the forwarder uses."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


def parse_line(line: str) -> list[float]:
    """The values of one reading; raises ForwarderAbort for ``ERR`` lines, ValueError for junk."""
    text = line.strip()
    if text.upper().startswith(("ERR", "<ERR")):
        raise ForwarderAbort(text)
    if not text:
        return []
    values = [float(part) for part in _SEPARATORS.split(text) if part]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"not finite: {text!r}")
    return values


def _count(line: str) -> int | None:
    """Number of values on a line, None when it is not a reading (ERR lines still abort)."""
    try:
        values = parse_line(line)
    except ValueError:
        return None
    return len(values) or None


def detect(
    lines_with_times: Sequence[tuple[float, str]],
    window_s: float = DETECT_WINDOW_S,
    *,
    frequency_hz: float | None = None,
) -> tuple[int, float]:
    """``(axes, frequency_hz)`` from the lines read during ``window_s`` seconds.

    ``lines_with_times`` holds (arrival time in seconds, line text) in order, the first and
    last possibly partial. Those two are dropped when their value count differs from the
    reading lines in between; the frequency is then the number of complete lines over the
    window, refined by their arrival span when there are enough of them, and reported as a
    whole number of hertz when within 0.25 Hz of one. A known ``frequency_hz`` is returned as
    is, and then one complete reading is enough to count the axes.
    """
    lines = [(t, text) for t, text in lines_with_times if text.strip()]
    for _, text in lines:
        if text.strip().upper().startswith(("ERR", "<ERR")):
            raise ForwarderAbort(text.strip())
    counts = [_count(text) for _, text in lines]
    middle = [c for c in counts[1:-1] if c] or [c for c in counts if c]
    if not middle:
        raise ForwarderError(
            "no sensor readings received in one second (lines of numbers separated by "
            "commas, tabs or spaces); give the frequency with --frequency for rates under 2 Hz"
        )
    axes = Counter(middle).most_common(1)[0][0]
    measured = list(zip(lines, counts, strict=True))
    if measured and measured[0][1] != axes:
        measured = measured[1:]
    if measured and measured[-1][1] != axes:
        measured = measured[:-1]
    # Text that is not numbers (a boot banner, a log line) is not a reading and is skipped;
    # a reading with another number of values means the stream cannot be trusted.
    complete = [(line, count) for line, count in measured if count is not None]
    bad = [text for (_, text), count in complete if count != axes]
    if bad:
        raise ForwarderError(
            f"lines with a different number of values than {axes}: {bad[0].strip()!r}"
        )
    if frequency_hz is not None and complete:
        return axes, frequency_hz
    if len(complete) < 2:
        raise ForwarderError(
            "fewer than two complete readings in one second; "
            "give the frequency with --frequency for rates under 2 Hz"
        )
    frequency = len(complete) / window_s
    span = complete[-1][0][0] - complete[0][0][0]
    if len(complete) >= 10 and span > 0.5 * window_s:
        frequency = (len(complete) - 1) / span
    if abs(frequency - round(frequency)) <= _SNAP_HZ:
        frequency = float(round(frequency))
    return axes, frequency


@dataclass(frozen=True)
class StreamInfo:
    """What detection found on the port."""

    axes: int
    frequency_hz: float
    example: list[float]


class Forwarder:
    """Reads a board's serial stream: detects axes and rate, records samples of a given length."""

    def __init__(self, port: SerialPort, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.port = port
        self.clock = clock
        self._pending = b""
        self.last_values: list[float] = []

    @classmethod
    def open(cls, url: str, baud: int = DEFAULT_BAUD) -> Forwarder:
        """Open a serial port by path or pyserial URL (``/dev/ttyACM0``, ``socket://host:port``)."""
        import serial  # pyserial, imported here so the API process never needs a port

        port = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        return cls(port)

    def close(self) -> None:
        """Close the port."""
        self.port.close()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lines(self, deadline: float) -> Iterator[tuple[float, str]]:
        """Complete lines with their arrival times until ``deadline`` (the tail stays pending)."""
        while self.clock() < deadline:
            chunk = self.port.read(max(1, self.port.in_waiting))
            if not chunk:
                continue
            now = self.clock()
            self._pending += chunk
            *complete, self._pending = self._pending.split(b"\n")
            for raw in complete:
                yield now, raw.decode("utf-8", "replace").rstrip("\r")

    def read_window(self, seconds: float) -> list[tuple[float, str]]:
        """The newline-terminated lines that arrive within ``seconds`` of fresh input.

        The first may be the tail of a reading cut by the start of the window; bytes still
        waiting for their newline when the window closes are not a line and are dropped.
        """
        self.port.reset_input_buffer()
        self._pending = b""
        lines = list(self._lines(self.clock() + seconds))
        self._pending = b""
        return lines

    def detect(
        self, window_s: float | None = None, *, frequency_hz: float | None = None
    ) -> StreamInfo:
        """Listen and detect the number of axes and (unless given) the frequency.

        The window is one second, or two and a half periods of a given slow frequency.
        """
        if window_s is None:
            window_s = max(DETECT_WINDOW_S, 2.5 / frequency_hz if frequency_hz else 0.0)
        lines = self.read_window(window_s)
        axes, frequency = detect(lines, window_s, frequency_hz=frequency_hz)
        example: list[float] = []
        for _, text in lines[1:]:
            if _count(text) == axes:
                example = parse_line(text)
                break
        return StreamInfo(axes=axes, frequency_hz=frequency, example=example)

    def record(
        self,
        length_ms: float,
        axes: int,
        frequency_hz: float,
        *,
        on_reading: Callable[[list[float], int, int], None] | None = None,
    ) -> np.ndarray:
        """Record ``length_ms`` of readings as a float32 (time x axes) array.

        Starts from fresh input (the first, possibly partial, line is dropped) and collects
        ``round(frequency * length)`` complete readings, allowing twice the length plus a
        second before giving up. ``on_reading(values, done, total)`` sees each reading.
        """
        total = max(1, round(frequency_hz * length_ms / 1000.0))
        self.port.reset_input_buffer()
        self._pending = b""
        deadline = self.clock() + 2 * length_ms / 1000.0 + 1.0
        rows: list[list[float]] = []
        first = True
        for _, text in self._lines(deadline):
            if first:
                first = False  # may have started mid-line
                continue
            if not text.strip():
                continue
            try:
                values = parse_line(text)
            except ValueError:
                raise ForwarderError(f"not a reading: {text.strip()!r}") from None
            if len(values) != axes:
                raise ForwarderError(
                    f"a reading has {len(values)} values, expected {axes}: {text.strip()!r}"
                )
            rows.append(values)
            self.last_values = values
            if on_reading is not None:
                on_reading(values, len(rows), total)
            if len(rows) == total:
                return np.asarray(rows, dtype=np.float32)
        raise ForwarderError(
            f"only {len(rows)} of {total} readings arrived in time; is the frequency right?"
        )


def sample_document(
    values: np.ndarray,
    axis_names: Sequence[str],
    frequency_hz: float,
    *,
    device_name: str | None = None,
    hmac_key: bytes | None = None,
) -> bytes:
    """An Edge Impulse acquisition JSON document for recorded readings."""
    from backend.datasets.formats import to_acquisition_json

    sensors = [(name, "m/s2" if name.startswith("acc") else "N/A") for name in axis_names]
    return to_acquisition_json(
        values=values,
        sensors=sensors,
        interval_ms=1000.0 / frequency_hz,
        device_type=DEVICE_TYPE,
        device_name=device_name,
        hmac_key=hmac_key,
        iat=int(time.time()),
    )


def encode_header(value: str) -> str:
    """Percent-encode a header value as Edge Impulse's tools do (JavaScript's encodeURIComponent).

    Headers carry ASCII only; the ingestion API decodes ``x-label`` and ``x-file-name``.
    """
    return quote(value, safe="-_.!~*'()")


def upload_sample(
    *,
    server: str,
    api_key: str,
    category: str,
    label: str,
    file_name: str,
    body: bytes,
    timeout_s: float = 30.0,
) -> dict[str, object]:
    """POST one acquisition JSON document to ``{server}/api/{category}/data``.

    Returns the decoded JSON answer (or ``{"text": ...}``); raises ForwarderError on a non-2xx.
    """
    import httpx

    url = f"{server.rstrip('/')}/api/{category}/data"
    headers = {
        "x-api-key": api_key,
        "x-file-name": encode_header(file_name),
        "x-label": encode_header(label),
        "Content-Type": "application/json",
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ForwarderError(f"upload to {url} failed: {exc}") from None
    if not response.is_success:
        raise ForwarderError(
            f"upload to {url} refused ({response.status_code}): {response.text[:500]}"
        )
    try:
        answer = response.json()
    except ValueError:
        return {"text": response.text}
    return answer if isinstance(answer, dict) else {"answer": answer}


def _axis_names(axes_option: str | None, count: int) -> list[str]:
    if axes_option:
        names = [n.strip() for n in axes_option.split(",") if n.strip()]
        if len(names) != count:
            raise click.UsageError(
                f"--axes names {len(names)} axes but the board sends {count} values per line"
            )
        if len(set(names)) != len(names):
            raise click.UsageError("--axes names the same axis twice")
        return names
    return [f"axis{i + 1}" for i in range(count)]


def _label_option(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from backend.datasets.formats import UploadError, normalize_label

    try:
        return normalize_label(value)
    except UploadError as exc:
        raise click.BadParameter(exc.message) from None


@click.command("forward")
@click.option("--port", "port_url", required=True, help="Serial port path or pyserial URL.")
@click.option("--baud", default=DEFAULT_BAUD, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--frequency",
    type=click.FloatRange(min=0, min_open=True),
    help="Sampling frequency in Hz (detected when omitted).",
)
@click.option("--axes", "axes_option", help="Comma-separated axis names, e.g. accX,accY,accZ.")
@click.option("--label", required=True, callback=_label_option, help="Label of the samples.")
@click.option(
    "--length-ms",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Length of each sample.",
)
@click.option("--category", type=click.Choice(CATEGORIES), default="training", show_default=True)
@click.option(
    "--server",
    envvar="TINYSTUDIO_SERVER",
    default="http://127.0.0.1:8321",
    show_default=True,
    help="TinyStudio URL (env TINYSTUDIO_SERVER).",
)
@click.option(
    "--api-key",
    envvar="TINYSTUDIO_API_KEY",
    required=True,
    help="The project's API key (env TINYSTUDIO_API_KEY).",
)
@click.option("--hmac-key", envvar="TINYSTUDIO_HMAC_KEY", help="Sign samples with HS256.")
@click.option("--count", default=1, show_default=True, type=click.IntRange(min=1))
def forward_command(
    port_url: str,
    baud: int,
    frequency: float | None,
    axes_option: str | None,
    label: str,
    length_ms: int,
    category: str,
    server: str,
    api_key: str,
    hmac_key: str | None,
    count: int,
) -> None:
    """Record labelled samples from a board's serial output and upload them to a project."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    console = Console(stderr=True)
    try:
        forwarder = Forwarder.open(port_url, baud)
    except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
        raise click.ClickException(f"cannot open {port_url}: {exc}") from None
    with forwarder:
        try:
            info = forwarder.detect(frequency_hz=frequency)
        except ForwarderAbort as exc:
            raise click.ClickException(f"the board reported an error: {exc}") from None
        except ForwarderError as exc:
            raise click.ClickException(str(exc)) from None
        names = _axis_names(axes_option, info.axes)
        rate = info.frequency_hz
        how = "detected" if frequency is None else "from --frequency"
        console.print(
            f"[bold]{info.axes}[/] axes ({', '.join(names)}) at [bold]{rate:g} Hz[/] ({how})"
        )

        def render(values: list[float], done: int, total: int, index: int) -> Table:
            table = Table(title=f"Sample {index}/{count}: {label} ({done}/{total} readings)")
            for name in names:
                table.add_column(name, justify="right")
            table.add_row(*(f"{v:.6g}" for v in values))
            return table

        for index in range(1, count + 1):
            try:
                with Live(console=console, refresh_per_second=10, transient=True) as live:

                    def show(values: list[float], done: int, total: int, i: int = index) -> None:
                        live.update(render(values, done, total, i))

                    values = forwarder.record(length_ms, info.axes, rate, on_reading=show)
            except ForwarderAbort as exc:
                raise click.ClickException(f"the board reported an error: {exc}") from None
            except ForwarderError as exc:
                raise click.ClickException(str(exc)) from None
            body = sample_document(
                values,
                names,
                rate,
                device_name=port_url,
                hmac_key=hmac_key.encode("utf-8") if hmac_key else None,
            )
            file_name = f"{label}.{time.strftime('%Y%m%dT%H%M%S')}-{index}.json"
            try:
                upload_sample(
                    server=server,
                    api_key=api_key,
                    category=category,
                    label=label,
                    file_name=file_name,
                    body=body,
                )
            except ForwarderError as exc:
                raise click.ClickException(str(exc)) from None
            last = ", ".join(f"{v:.6g}" for v in values[-1])
            console.print(
                f"[green]stored[/] {file_name}: {values.shape[0]} readings "
                f"({values.shape[0] * 1000 / rate:g} ms), last [{last}]"
            )
