"""Tying a child process's life to its parent's, so a killed `tinystudio up` leaves no orphans."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 1.0


def _ask_kernel_for_signal_on_parent_death(signum: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _watch(expected_parent: int, kill_group_after: float | None) -> None:
    while os.getppid() == expected_parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    if kill_group_after is not None:
        time.sleep(kill_group_after)
        os.killpg(os.getpgid(0), signal.SIGKILL)


def watch_parent(expected_parent: int, *, kill_group_after: float | None = None) -> None:
    """Sends this process SIGTERM soon after its parent is no longer `expected_parent`.

    With `kill_group_after`, a process that leads its own process group has the whole group
    killed that many seconds later if it has not ended by then.
    """
    threading.Thread(
        target=_watch, args=(expected_parent, kill_group_after), name="parent-watch", daemon=True
    ).start()


def die_with_parent(expected_parent: int, *, kill_group_after: float | None = None) -> None:
    """Sends this process SIGTERM once `expected_parent` is gone, however it ended.

    The kernel does it on Linux (PR_SET_PDEATHSIG); the watch covers other systems, a parent
    that died before the kernel was asked, and the `kill_group_after` deadline.
    """
    _ask_kernel_for_signal_on_parent_death(signal.SIGTERM)
    watch_parent(expected_parent, kill_group_after=kill_group_after)
