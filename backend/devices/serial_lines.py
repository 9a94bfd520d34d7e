"""The serial line protocol between a board's UART and browsers: lines split and checked, each
WebSocket's share of a board's output, and the codes its WebSocket is closed with."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from backend.devices.board_errors import GarbledLine

# A line from the board longer than this, or holding a non-printable byte, is garbled.
MAX_LINE_BYTES = 64 * 1024
# Lines queued for one listener beyond this mean the browser stopped reading.
MAX_PENDING_LINES = 10_000

# WebSocket close codes used for board events (RFC 6455).
CLOSE_GOING_AWAY = 1001  # the board was stopped (by a user, a limit, or shutdown)
CLOSE_BOARD_FAILED = 1011  # QEMU crashed, the line was garbled, or the bridge failed
CLOSE_TRY_LATER = 1013  # the listener fell too far behind

_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t"


def split_lines(buffer: bytes) -> tuple[list[str], bytes]:
    """Splits the complete lines off `buffer`, returning them and the unfinished rest.

    A line is printable ASCII (tabs allowed) ended by `\\n`, with an optional `\\r` before it.
    Raises GarbledLine for any other byte in a line, or when the unfinished rest grows beyond
    MAX_LINE_BYTES (a board that never ends its line).
    """
    *complete, rest = buffer.split(b"\n")
    lines = []
    for raw in complete:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if raw.translate(None, _PRINTABLE):
            raise GarbledLine(f"garbled serial line from the board: {raw[:48]!r}")
        if len(raw) > MAX_LINE_BYTES:
            raise GarbledLine(f"a serial line from the board is longer than {MAX_LINE_BYTES} bytes")
        lines.append(raw.decode("ascii"))
    if len(rest) > MAX_LINE_BYTES:
        raise GarbledLine(f"a serial line from the board is longer than {MAX_LINE_BYTES} bytes")
    return lines, rest


def browser_lines(text: str) -> list[str]:
    """The protocol lines of one text frame from a browser (normally exactly one line).

    Raises ValueError when the frame holds a character that is not printable ASCII.
    """
    lines = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line.isascii() or line.encode().translate(None, _PRINTABLE):
            raise ValueError("a serial line may hold printable ASCII characters only")
        if line:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class Closure:
    """The last item a listener gets: how its WebSocket is to be closed."""

    code: int
    reason: str


class SerialListener:
    """One WebSocket's share of a board: lines (and finally a Closure) handed to its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_pending: int = MAX_PENDING_LINES):
        self.queue: asyncio.Queue[str | Closure] = asyncio.Queue()
        self._loop = loop
        self._max_pending = max_pending
        self._closed = False

    def _hand_over(self, item: str | Closure) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop has already ended
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def put_line(self, line: str) -> None:
        """Queues a line from the board (called from the board's thread)."""
        if self._closed:
            return
        # qsize() from another thread is only an estimate, which is all a backlog check needs.
        if self.queue.qsize() >= self._max_pending:
            self.close(CLOSE_TRY_LATER, "the browser did not keep up with the serial output")
            return
        self._hand_over(line)

    def close(self, code: int, reason: str) -> None:
        """Queues the closure; later lines are dropped."""
        if self._closed:
            return
        self._closed = True
        self._hand_over(Closure(code, reason))
