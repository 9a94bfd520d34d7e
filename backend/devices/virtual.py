"""Virtual boards as a service: the registry of this API process's boards, which refuses boards
beyond the limit, and a reaper thread that stops boards that are idle, too old, or left without
a listener for the grace period. Each board is a VirtualBoard (backend/devices/virtual_board.py).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.devices.board_errors import BoardLimitReached, BoardStartError
from backend.devices.virtual_board import VirtualBoard
from workers.boards import Board

logger = logging.getLogger("tinystudio.virtual_boards")

# Defaults of the limits (the settings say the same; see backend/core/config.py).
DEFAULT_MAX_BOARDS = 5
DEFAULT_IDLE_SECONDS = 300.0
DEFAULT_MAX_SECONDS = 3600.0
DEFAULT_GRACE_SECONDS = 10.0
REAP_EVERY_SECONDS = 0.25
# Stopped boards stay listed (with the reason they stopped) this long, at most this many.
KEEP_STOPPED_SECONDS = 600.0
KEEP_STOPPED_COUNT = 50


@dataclass(frozen=True)
class VirtualBoardLimits:
    """How many boards may run at once and when the reaper stops one."""

    max_boards: int = DEFAULT_MAX_BOARDS
    idle_seconds: float = DEFAULT_IDLE_SECONDS  # no serial line either way for this long
    max_seconds: float = DEFAULT_MAX_SECONDS  # lifetime from the start, flashing included
    grace_seconds: float = DEFAULT_GRACE_SECONDS  # no WebSocket attached for this long

    @classmethod
    def from_env(cls) -> VirtualBoardLimits:
        """The limits from the settings (`TINYSTUDIO_VIRTUAL_BOARD*` variables), read afresh."""
        settings = Settings()
        return cls(
            max_boards=settings.virtual_boards_max,
            idle_seconds=settings.virtual_board_idle_seconds,
            max_seconds=settings.virtual_board_max_seconds,
            grace_seconds=settings.virtual_board_grace_seconds,
        )


def _seconds(value: float) -> str:
    return f"{value:g} s"


class VirtualBoardManager:
    """The registry of virtual boards of this API process, with its limits and reaper."""

    def __init__(self, limits: VirtualBoardLimits | None = None) -> None:
        self.limits = limits or VirtualBoardLimits.from_env()
        self._lock = threading.Lock()
        self._boards: dict[str, VirtualBoard] = {}
        self._closing = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(
        self,
        *,
        board: Board,
        project_id: int,
        elf: Path,
        deployment_id: int | None,
        started_by_id: int | None,
    ) -> VirtualBoard:
        """Starts QEMU with `elf` for `board`; returns once the firmware answered `info`."""
        with self._lock:
            if self._closing.is_set():
                raise BoardStartError("the studio is shutting down")
            self._forget_stopped()
            running = sum(1 for b in self._boards.values() if b.is_active)
            if running >= self.limits.max_boards:
                raise BoardLimitReached(
                    f"{running} virtual boards are running, the most this studio allows "
                    f"({self.limits.max_boards}); stop one or try again later"
                )
            virtual_board = VirtualBoard(
                board=board, project_id=project_id, deployment_id=deployment_id,
                started_by_id=started_by_id, on_stopped=self._stopped,
            )  # fmt: skip
            self._boards[virtual_board.id] = virtual_board
            self._ensure_reaper()
        virtual_board.launch(elf)
        virtual_board.wait_booted()
        return virtual_board

    def find(self, project_id: int, board_id: str) -> VirtualBoard | None:
        """The board with that id if it belongs to the project (running or recently stopped)."""
        with self._lock:
            found = self._boards.get(board_id)
        return found if found is not None and found.project_id == project_id else None

    def for_project(self, project_id: int) -> list[VirtualBoard]:
        """The project's boards, running and recently stopped, oldest first."""
        with self._lock:
            self._forget_stopped()
            boards = [b for b in self._boards.values() if b.project_id == project_id]
        return sorted(boards, key=lambda b: b.started_monotonic)

    def running_count(self) -> int:
        """How many boards hold a QEMU process now."""
        with self._lock:
            return sum(1 for b in self._boards.values() if b.is_active)

    def remove(self, virtual_board: VirtualBoard, reason: str) -> None:
        """Stops the board (waiting for QEMU to end) and forgets it."""
        virtual_board.request_stop(reason)
        if not virtual_board.join():
            logger.error("virtual board %s did not stop in time", virtual_board.id)
        with self._lock:
            self._boards.pop(virtual_board.id, None)

    def shutdown(self) -> None:
        """Stops every board and waits for every QEMU process to end."""
        self._closing.set()
        with self._lock:
            boards = list(self._boards.values())
        for virtual_board in boards:
            virtual_board.request_stop("the studio is shutting down")
        for virtual_board in boards:
            virtual_board.join()
        if self._reaper is not None and self._reaper is not threading.current_thread():
            self._reaper.join(timeout=5)

    def _stopped(self, virtual_board: VirtualBoard) -> None:
        # Called by a board's thread once its QEMU has ended.
        with self._lock:
            self._forget_stopped()

    def _forget_stopped(self) -> None:
        # Called with the lock held.
        cutoff = utcnow() - timedelta(seconds=KEEP_STOPPED_SECONDS)
        stopped = sorted(
            (b for b in self._boards.values() if b.state == "stopped" and b.stopped_at),
            key=lambda b: b.stopped_at or cutoff,
        )
        excess = len(stopped) - KEEP_STOPPED_COUNT
        for index, virtual_board in enumerate(stopped):
            if index < excess or (virtual_board.stopped_at or cutoff) <= cutoff:
                self._boards.pop(virtual_board.id, None)

    def _ensure_reaper(self) -> None:
        # Called with the lock held.
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(
                target=self._reap_forever, name="virtual-board-reaper", daemon=True
            )
            self._reaper.start()

    def _reap_forever(self) -> None:
        while not self._closing.wait(REAP_EVERY_SECONDS):
            try:
                self.reap()
            except Exception:  # the reaper must outlive any one bad board
                logger.exception("virtual board reaper failed")

    def reap(self) -> None:
        """Stops the boards past their lifetime, idle too long, or left without a listener."""
        limits = self.limits
        now = time.monotonic()
        with self._lock:
            boards = [b for b in self._boards.values() if b.is_active]
        for vb in boards:
            if vb.state == "starting":
                continue
            if now - vb.started_monotonic > limits.max_seconds:
                vb.request_stop(
                    f"stopped at the {_seconds(limits.max_seconds)} lifetime limit of a "
                    "virtual board"
                )
            elif now - vb.last_activity > limits.idle_seconds:
                vb.request_stop(
                    f"stopped after {_seconds(limits.idle_seconds)} without serial traffic (idle)"
                )
            elif vb.unwatched_since is not None and now - vb.unwatched_since > limits.grace_seconds:
                vb.request_stop(
                    f"stopped after {_seconds(limits.grace_seconds)} without a connected browser"
                )


_manager: VirtualBoardManager | None = None
_manager_lock = threading.Lock()


def get_board_manager() -> VirtualBoardManager:
    """The process-wide manager (created on first use, with the limits from the environment)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = VirtualBoardManager()
        return _manager


def shutdown_board_manager() -> None:
    """Stops every virtual board of this process; the next use starts a fresh manager."""
    global _manager
    with _manager_lock:
        manager, _manager = _manager, None
    if manager is not None:
        manager.shutdown()


# A normal interpreter exit stops QEMU too (a killed process relies on the parent-death signal).
atexit.register(shutdown_board_manager)
