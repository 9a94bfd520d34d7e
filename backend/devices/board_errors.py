"""What can go wrong with a virtual board, each kind its own error (the routes answer each with
its own status)."""

from __future__ import annotations


class VirtualBoardError(RuntimeError):
    """A virtual board operation failed; the message says why."""


class BoardLimitReached(VirtualBoardError):
    """As many virtual boards as allowed are already running."""


class BoardStartError(VirtualBoardError):
    """QEMU or the firmware did not come up."""


class BoardStopped(VirtualBoardError):
    """The board is not running (any more)."""


class BoardBusy(VirtualBoardError):
    """The board is doing something that the operation would disturb."""


class BoardCommandError(VirtualBoardError):
    """The board refused a command or did not answer it."""


class GarbledLine(VirtualBoardError):
    """The board sent bytes that are not a protocol line."""
