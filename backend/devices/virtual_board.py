"""One virtual board: a QEMU process owned by a thread of its own.

That thread starts QEMU (so the kernel's parent-death signal, which is tied to the starting
*thread*, kills QEMU if the thread or the whole API process dies), pumps the board's serial
output to the attached listeners (WebSockets), restarts QEMU with a new image when the board is
flashed, and always stops QEMU before it ends.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from backend.core.db import utcnow
from backend.devices.board_errors import (
    BoardBusy,
    BoardCommandError,
    BoardStartError,
    BoardStopped,
    GarbledLine,
)
from backend.devices.serial_lines import (
    CLOSE_BOARD_FAILED,
    CLOSE_GOING_AWAY,
    Closure,
    SerialListener,
    split_lines,
)
from workers.boards import Board
from workers.firmware.qemu import READY_LINE, BoardSessionError, VirtualBoardSession

logger = logging.getLogger("tinystudio.virtual_boards")

BOOT_TIMEOUT_SECONDS = 10.0
# How long a board thread waits for serial bytes before it looks at its stop flag and requests.
POLL_SECONDS = 0.1
JOIN_TIMEOUT_SECONDS = 15.0
# The UART of QEMU's CMSDK model takes roughly 20-35 KB/s; replay waits are sized on the slow end.
UART_BYTES_PER_SECOND = 15_000
# Each board's UART is a unix socket in its own private directory, so boards boot in parallel;
# one that does not greet within BOOT_TIMEOUT_SECONDS (a heavily loaded machine) is started again.
BOOT_ATTEMPTS = 2
# The longest a start or a flash can take: per attempt, QEMU's socket and its greeting; then `info`.
START_WAIT_SECONDS = BOOT_TIMEOUT_SECONDS * (2 * BOOT_ATTEMPTS + 1) + 5

State = Literal["starting", "running", "flashing", "stopped"]


class _Waiter:
    """A server-side command waiting for the board line that answers it."""

    def __init__(self, accepts: Callable[[str], bool]) -> None:
        self.accepts = accepts
        self.answer: str | None = None
        self.failure: str | None = None
        self.done = threading.Event()


@dataclass
class _FlashRequest:
    elf: Path
    deployment_id: int | None
    done: threading.Event
    error: str | None = None


@dataclass(frozen=True)
class ReplayResult:
    """What a replay loaded into the board."""

    axes: int
    hz: float
    readings: int
    answer: str


class VirtualBoard:
    """One virtual board: a QEMU process (restarted when flashed) owned by its own thread."""

    def __init__(
        self,
        *,
        board: Board,
        project_id: int,
        deployment_id: int | None,
        started_by_id: int | None,
        on_stopped: Callable[[VirtualBoard], None],
    ) -> None:
        self.id = secrets.token_hex(6)
        self.board = board
        self.project_id = project_id
        self.deployment_id = deployment_id
        self.started_by_id = started_by_id
        self.started_at = utcnow()
        self.flashed_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.stop_reason: str | None = None
        self.ending: Closure | None = None  # how listeners were told the board stopped
        self.state: State = "starting"
        self.info: dict[str, Any] = {}
        self.qemu_pid: int | None = None
        self.streaming = False
        self.started_monotonic = time.monotonic()
        self.last_activity = self.started_monotonic
        self.unwatched_since: float | None = self.started_monotonic
        self._on_stopped = on_stopped
        self._lock = threading.Lock()  # listeners, waiters, state changes
        self._write_lock = threading.Lock()  # one writer on the UART at a time
        self._listeners: set[SerialListener] = set()
        self._waiters: list[_Waiter] = []
        self._flash_requests: list[_FlashRequest] = []
        self._session: VirtualBoardSession | None = None
        self._buffer = b""
        self._stop = threading.Event()
        self._stop_request: Closure = Closure(CLOSE_GOING_AWAY, "stopped")
        self._exit_sent = False
        self._booted = threading.Event()
        self._boot_error: str | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------------

    def launch(self, elf: Path) -> None:
        """Starts the board's thread, which boots QEMU with `elf`."""
        self._thread = threading.Thread(
            target=self._run, args=(Path(elf),), name=f"virtual-board-{self.id}", daemon=True
        )
        self._thread.start()

    def wait_booted(self, timeout: float | None = None) -> None:
        """Waits until the firmware answered `info`; raises BoardStartError if it did not."""
        timeout = START_WAIT_SECONDS if timeout is None else timeout
        if not self._booted.wait(timeout):
            self.request_stop("the virtual board did not start in time", CLOSE_BOARD_FAILED)
            self.join()
            raise BoardStartError(f"{self.board.name} did not start within {timeout:g} s")
        if self._boot_error is not None:
            self.join()
            raise BoardStartError(self._boot_error)
        if self.state == "stopped":
            raise BoardStartError(f"{self.board.name} stopped at once: {self.stop_reason}")

    def request_stop(self, reason: str, code: int = CLOSE_GOING_AWAY) -> None:
        """Asks the board's thread to stop QEMU (it does so within POLL_SECONDS)."""
        with self._lock:
            if self._stop.is_set() or self.state == "stopped":
                return
            self._stop_request = Closure(code, reason)
            self._stop.set()

    def join(self, timeout: float = JOIN_TIMEOUT_SECONDS) -> bool:
        """Waits for the board's thread (and so QEMU) to end; True if it did."""
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_active(self) -> bool:
        """True while the board holds (or is about to hold) a QEMU process."""
        return self.state != "stopped"

    @property
    def listener_count(self) -> int:
        with self._lock:
            return len(self._listeners)

    def _boot(self, elf: Path) -> tuple[VirtualBoardSession, dict[str, Any]]:
        # Runs on the board's own thread: QEMU's parent-death signal is tied to it.
        for attempt in range(BOOT_ATTEMPTS):
            try:
                session = VirtualBoardSession(self.board, elf, boot_timeout=BOOT_TIMEOUT_SECONDS)
                break
            except TimeoutError:
                if attempt + 1 == BOOT_ATTEMPTS:
                    raise
                logger.warning("virtual board %s did not greet; starting it again", self.id)
        try:
            info = session.info()
        except BaseException:
            session.close()
            raise
        return session, info

    def _run(self, elf: Path) -> None:
        ending = Closure(CLOSE_GOING_AWAY, "stopped")
        try:
            try:
                self._session, self.info = self._boot(elf)
            except (BoardSessionError, TimeoutError, OSError) as exc:
                self._boot_error = f"{self.board.name} did not start: {exc}"
                ending = Closure(CLOSE_BOARD_FAILED, self._boot_error)
                return
            self.qemu_pid = self._session.pid
            self.last_activity = time.monotonic()
            with self._lock:
                if self.state == "starting":
                    self.state = "running"
            self._booted.set()
            self._pump()
        except GarbledLine as exc:
            ending = Closure(CLOSE_BOARD_FAILED, str(exc))
        except (BoardSessionError, OSError):
            if self._exit_sent:
                ending = Closure(CLOSE_GOING_AWAY, "the firmware ended after an exit command")
            else:
                ending = Closure(CLOSE_BOARD_FAILED, self._crash_reason())
        except Exception as exc:  # the thread must still stop QEMU and tell its listeners
            logger.exception("virtual board %s failed", self.id)
            ending = Closure(CLOSE_BOARD_FAILED, f"the virtual board failed: {exc}")
        finally:
            if self._stop.is_set():
                ending = self._stop_request
            self._finish(ending)

    def _crash_reason(self) -> str:
        # QEMU's own last words say more than the lost connection; its banner says nothing.
        session = self._session
        said = session.stderr_text().splitlines() if session is not None else []
        said = [s for s in said if s.strip() and "waiting for connection" not in s]
        detail = said[-1].strip() if said else "QEMU ended without a message"
        return f"the virtual board stopped unexpectedly: {detail}"

    def _pump(self) -> None:
        while not self._stop.is_set():
            self._serve_flash_requests()
            session = self._session
            assert session is not None
            data = session.read_bytes(timeout=POLL_SECONDS)
            if data:
                lines, self._buffer = split_lines(self._buffer + data)
                for line in lines:
                    self._dispatch(line)

    def _finish(self, ending: Closure) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()  # terminates QEMU and waits for it (kills it if it lingers)
        with self._lock:
            self.state = "stopped"
            self.stop_reason = ending.reason
            self.ending = ending
            self.stopped_at = utcnow()
            self.streaming = False
            listeners, self._listeners = list(self._listeners), set()
            waiters, self._waiters = self._waiters, []
            requests, self._flash_requests = self._flash_requests, []
        for waiter in waiters:
            waiter.failure = f"the board stopped: {ending.reason}"
            waiter.done.set()
        for request in requests:
            request.error = f"the board stopped: {ending.reason}"
            request.done.set()
        for listener in listeners:
            listener.close(ending.code, ending.reason)
        self._booted.set()
        logger.info("virtual board %s (%s) stopped: %s", self.id, self.board.id, ending.reason)
        self._on_stopped(self)

    # --- serial traffic ---------------------------------------------------------------------

    def _dispatch(self, line: str) -> None:
        self.last_activity = time.monotonic()
        if line == "OK stopped" or line.startswith("ERR stream"):
            self.streaming = False
        with self._lock:
            listeners = list(self._listeners)
            waiter = next((w for w in self._waiters if w.accepts(line)), None)
            if waiter is not None:
                self._waiters.remove(waiter)
        if waiter is not None:
            waiter.answer = line
            waiter.done.set()
        for listener in listeners:
            listener.put_line(line)

    def attach(self, listener: SerialListener) -> None:
        """Adds a listener; raises BoardStopped if the board has stopped."""
        with self._lock:
            if self.state == "stopped" or self._stop.is_set():
                raise BoardStopped(self.stop_reason or "the board is stopping")
            self._listeners.add(listener)
            self.unwatched_since = None

    def detach(self, listener: SerialListener) -> None:
        """Removes a listener; the grace period starts when the last one leaves."""
        with self._lock:
            self._listeners.discard(listener)
            if not self._listeners and self.unwatched_since is None:
                self.unwatched_since = time.monotonic()

    def _live_session(self) -> VirtualBoardSession:
        session = self._session
        if session is None or self.state == "stopped" or self._stop.is_set():
            raise BoardStopped(self.stop_reason or "the board is stopping")
        return session

    def send_line(self, line: str) -> None:
        """Sends one protocol line from a browser to the board's UART."""
        words = line.split()
        if words and words[0] == "stream":
            self.streaming = True
        elif words == ["exit"]:
            self._exit_sent = True
        self.last_activity = time.monotonic()
        with self._write_lock:
            session = self._live_session()
            try:
                session.send_line(line)
            except BoardSessionError as exc:
                raise BoardStopped(str(exc)) from exc

    def _command(
        self,
        session: VirtualBoardSession,
        line: str,
        accepts: Callable[[str], bool],
        timeout: float,
    ) -> str:
        # Called with the write lock held; the board thread delivers the answer to the waiter.
        waiter = _Waiter(accepts)
        with self._lock:
            self._waiters.append(waiter)
        try:
            session.send_line(line)
            if not waiter.done.wait(timeout):
                raise BoardCommandError(f"the board did not answer {line!r} within {timeout:g} s")
        except BoardSessionError as exc:
            raise BoardStopped(str(exc)) from exc
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if waiter.failure is not None:
            raise BoardStopped(waiter.failure)
        assert waiter.answer is not None
        if waiter.answer.startswith("ERR"):
            raise BoardCommandError(f"the board refused {line.split()[0]}: {waiter.answer}")
        return waiter.answer

    def replay(self, values: npt.NDArray[np.float32], hz: float) -> ReplayResult:
        """Loads (readings x axes) values into the board's replay buffer for `stream` at `hz`.

        A sample longer than the board's replay buffer is cut to the readings that fit.
        """
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
            raise BoardCommandError("the sample holds no values")
        if not np.all(np.isfinite(values)):
            raise BoardCommandError("the sample holds NaN or infinite values, which cannot replay")
        axes = int(values.shape[1])
        if axes > 64:
            raise BoardCommandError(f"the firmware replays at most 64 axes; the sample has {axes}")
        if self.streaming:
            raise BoardBusy("the board is streaming: send `stop` before replaying another sample")
        capacity = int(self.info.get("replay_capacity") or 0)
        readings = min(int(values.shape[0]), capacity // axes)
        if readings == 0:
            raise BoardCommandError(
                f"the board's replay buffer holds {capacity} values, less than one reading "
                f"of {axes} axes"
            )
        rows = values[:readings].astype(np.float32)
        # Each value travels as the shortest decimal of its float32, one reading per line.
        text = "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()
        hz_word = f"{hz:.9g}"
        self.last_activity = time.monotonic()
        with self._write_lock:
            session = self._live_session()
            self._command(
                session,
                f"replay begin {axes} {hz_word}",
                lambda line: line == "OK replay begin" or line.startswith("ERR"),
                timeout=10.0,
            )
            try:
                session.send_bytes(text)
            except BoardSessionError as exc:
                raise BoardStopped(str(exc)) from exc
            answer = self._command(
                session,
                "replay end",
                lambda line: (
                    (line.startswith("OK replay ") and line != "OK replay begin")
                    or line.startswith("ERR")
                ),
                timeout=10.0 + len(text) / UART_BYTES_PER_SECOND,
            )
        self.last_activity = time.monotonic()
        return ReplayResult(axes=axes, hz=float(hz_word), readings=readings, answer=answer)

    # --- flashing ---------------------------------------------------------------------------

    def flash(self, elf: Path, deployment_id: int | None) -> None:
        """Restarts the board with the firmware image `elf`; the old image keeps running if the
        new one does not boot (and the error says why)."""
        request = _FlashRequest(elf=Path(elf), deployment_id=deployment_id, done=threading.Event())
        with self._lock:
            if self.state == "stopped" or self._stop.is_set():
                raise BoardStopped(self.stop_reason or "the board is stopping")
            self._flash_requests.append(request)
        self.last_activity = time.monotonic()
        if not request.done.wait(START_WAIT_SECONDS):
            raise BoardCommandError("flashing the virtual board timed out")
        if request.error is not None:
            raise BoardCommandError(request.error)

    def _serve_flash_requests(self) -> None:
        with self._lock:
            if not self._flash_requests:
                return
        # A replay holding the UART waits for this thread to pump its answers: never block here.
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            with self._lock:
                request = self._flash_requests.pop(0)
                self.state = "flashing"
            try:
                session, info = self._boot(request.elf)
            except (BoardSessionError, TimeoutError, OSError) as exc:
                request.error = f"the new firmware did not start (the old one keeps running): {exc}"
                with self._lock:
                    self.state = "running"
                request.done.set()
                return
            old, self._session = self._session, session
            if old is not None:
                old.close()
            self._buffer = b""
            self.info = info
            self.qemu_pid = session.pid
            self.deployment_id = request.deployment_id
            self.flashed_at = utcnow()
            self.last_activity = time.monotonic()
            self.streaming = False
            self._exit_sent = False
            with self._lock:
                self.state = "running"
                waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.failure = "the board was flashed while waiting for an answer"
                waiter.done.set()
            # The new image's greeting was read by the boot; listeners see it as a real board's.
            self._dispatch(READY_LINE)
            request.done.set()
        finally:
            self._write_lock.release()
