"""Runs firmware on a virtual board in QEMU and speaks its line protocol over a serial socket."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from workers.boards import Board

PLUGIN_SOURCE = Path(__file__).parent / "plugin" / "insncount.c"
READY_LINE = "OK tinystudio ready"
_PR_SET_PDEATHSIG = 1
SERIAL_SOCKET_NAME = "uart0.sock"
# The window `classify file` reads (workers/firmware/PROTOCOL.md), in the session's directory.
HOST_WINDOW_FILE = "window.f32"
# sockaddr_un holds 108 bytes with the final NUL; QEMU also splits its options at commas.
_MAX_SOCKET_PATH = 107


class BoardSessionError(RuntimeError):
    """The virtual board stopped, could not start, or answered with an error."""


def _cache_dir() -> Path:
    root = os.environ.get("TINYSTUDIO_CACHE_DIR") or Path.home() / ".cache" / "tinystudio"
    return Path(root) / "qemu-plugins"


def insncount_plugin(cache_dir: Path | None = None) -> Path:
    """Builds the instruction-counting plugin once (cached by source hash); returns the .so."""
    source = PLUGIN_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target_dir = cache_dir or _cache_dir()
    target = target_dir / f"libinsncount-{digest}.so"
    if target.is_file():
        return target
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BoardSessionError("no host C compiler (gcc) to build the QEMU insncount plugin")
    target_dir.mkdir(parents=True, exist_ok=True)
    # Build under a unique name, then rename: concurrent builders never see a half-written file.
    fd, tmp_name = tempfile.mkstemp(suffix=".so", dir=target_dir)
    os.close(fd)
    proc = subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-o", tmp_name, str(PLUGIN_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        os.unlink(tmp_name)
        raise BoardSessionError(f"building the insncount plugin failed:\n{proc.stderr}")
    os.replace(tmp_name, target)
    return target


def _die_with_parent() -> None:
    # Runs in the child before exec: the kernel kills QEMU if the process that started it dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _launcher(kill_with_parent: bool) -> tuple[list[str], Callable[[], None] | None]:
    """A command prefix or pre-exec hook that ties QEMU's life to its starter's (Linux)."""
    if not kill_with_parent or not sys.platform.startswith("linux"):
        return [], None
    setpriv = shutil.which("setpriv")
    if setpriv:
        # util-linux's setpriv sets the parent-death signal and execs QEMU: no Python in between.
        return [setpriv, "--pdeathsig", "KILL"], None
    return [], _die_with_parent


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _release(proc: subprocess.Popen[bytes] | None, dirs: Sequence[Path]) -> None:
    """Stops QEMU and removes the session's private directories (what a session leaves)."""
    try:
        if proc is not None:
            _stop_process(proc)
    finally:
        for directory in dirs:
            shutil.rmtree(directory, ignore_errors=True)


def _socket_dir(workdir: Path) -> Path | None:
    """None if the serial socket fits in `workdir`, else a private directory with a short path."""
    path = workdir / SERIAL_SOCKET_NAME
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH and "," not in str(path):
        return None
    return Path(tempfile.mkdtemp(prefix="ts-", dir="/tmp"))


class VirtualBoardSession:
    """One QEMU process running a firmware image, with its UART0 on a unix-domain socket.

    The socket lives in a private temporary directory (mode 0700) and is unlinked as soon as
    the session has connected, so no other process can reach the board's UART; the directory
    (which also holds QEMU's output and the instruction counts) is removed with the session.

    `count_instructions=True` runs QEMU with `-icount shift=0` and the insncount plugin; the
    `regions` (name -> (begin address, end address)) are then reported by `instruction_counts()`.
    The QEMU process is always stopped by `close()`, by leaving a `with` block, when the session
    is garbage-collected, and, with `kill_with_parent` (Linux), when the process that started it
    dies. The kernel ties that last one to the starting *thread*: start long-lived sessions from
    a thread that outlives them (not a short-lived pool thread), or pass kill_with_parent=False.
    """

    def __init__(
        self,
        board: Board,
        elf: Path,
        *,
        count_instructions: bool = False,
        regions: Mapping[str, tuple[int, int]] | None = None,
        boot_timeout: float = 10.0,
        expect_ready: bool = True,
        kill_with_parent: bool = True,
    ) -> None:
        if board.kind != "virtual" or not board.qemu_machine:
            raise BoardSessionError(f"{board.id} is not a virtual board")
        qemu = shutil.which("qemu-system-arm")
        if qemu is None:
            raise BoardSessionError("qemu-system-arm not found: install qemu-system-arm")
        self.board = board
        self.elf = Path(elf).resolve()
        self._buffer = b""
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="tinystudio-qemu-"))
        self._dirs = [self._workdir]
        self.counts_file = self._workdir / "insncount.txt"
        self._stderr_path = self._workdir / "qemu.stderr"
        self._socket_path = self._workdir / SERIAL_SOCKET_NAME
        try:
            short_dir = _socket_dir(self._workdir)
            if short_dir is not None:
                self._dirs.append(short_dir)
                self._socket_path = short_dir / SERIAL_SOCKET_NAME
            plugin_args: list[str] = []
            if count_instructions:
                plugin = insncount_plugin()
                spec = [str(plugin), f"out={self.counts_file}"]
                for name, (begin, end) in (regions or {}).items():
                    spec.append(f"region={name}:0x{begin:x}:0x{end:x}")
                plugin_args = ["-icount", "shift=0", "-plugin", ",".join(spec)]
            self._start(qemu, plugin_args, boot_timeout, kill_with_parent)
            if expect_ready:
                line = self.read_line(timeout=boot_timeout)
                if line != READY_LINE:
                    raise BoardSessionError(f"unexpected first line from the board: {line!r}")
        except BaseException:
            self.close()
            raise

    def _start(
        self, qemu: str, plugin_args: list[str], timeout: float, kill_with_parent: bool
    ) -> None:
        prefix, pre_exec = _launcher(kill_with_parent)
        cmd = [
            *prefix,
            qemu,
            "-M", self.board.qemu_machine or "",
            "-nographic",
            "-monitor", "none",
            "-kernel", str(self.elf),
            # wait=on: the board does not run until the session is connected, so no output is lost.
            "-serial", f"unix:{self._socket_path},server=on,wait=on",
            "-semihosting-config", "enable=on,target=native",
            *plugin_args,
        ]  # fmt: skip
        with open(self._stderr_path, "wb") as stderr:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                preexec_fn=pre_exec,  # noqa: PLW1509
                # Semihosting resolves the firmware's file names here (`classify file`).
                cwd=self._workdir,
            )
        # Stops QEMU and removes the directories if the session is dropped without close().
        self._finalizer = weakref.finalize(self, _release, self._proc, list(self._dirs))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc.poll() is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(1.0)
                sock.connect(str(self._socket_path))
            except OSError:  # not listening yet
                sock.close()
                time.sleep(0.02)
                continue
            sock.setblocking(False)
            self._sock = sock
            # QEMU keeps listening for the next client; without the name nobody can connect.
            self._socket_path.unlink(missing_ok=True)
            return
        err = self.stderr_text()
        _stop_process(self._proc)
        raise BoardSessionError(f"QEMU did not open its serial socket: {err.strip()}")

    @property
    def pid(self) -> int | None:
        """The QEMU process id (None before start)."""
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        """True while the QEMU process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def stderr_text(self) -> str:
        """What QEMU printed on stdout/stderr so far."""
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def send_line(self, line: str) -> None:
        """Sends one protocol line (a newline is appended)."""
        self.send_bytes(line.encode() + b"\n")

    def send_bytes(self, data: bytes) -> None:
        """Sends raw bytes to the board's UART."""
        if self._sock is None:
            raise BoardSessionError("session is closed")
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [self._sock], [], 10.0)
            if not writable:
                raise BoardSessionError("timed out writing to the virtual board")
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise BoardSessionError(f"virtual board connection lost: {exc}") from exc
            view = view[sent:]

    def _receive(self, timeout: float) -> bool:
        """Waits up to `timeout` for bytes from the board into the buffer; False on timeout."""
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], max(timeout, 0.0))
        if not readable:
            return False
        try:
            chunk = self._sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError as exc:
            raise BoardSessionError(f"virtual board connection lost: {exc}") from exc
        if not chunk:
            raise BoardSessionError(
                f"virtual board {self.board.id} stopped: {self.stderr_text().strip()}"
            )
        self._buffer += chunk
        return True

    def read_bytes(self, timeout: float = 1.0) -> bytes:
        """Returns whatever the board sent (waiting up to `timeout`), b"" if nothing came.

        For bridging the UART elsewhere (e.g. a WebSocket) without line semantics.
        """
        if self._sock is None:
            raise BoardSessionError("session is closed")
        if not self._buffer:
            self._receive(timeout)
        data, self._buffer = self._buffer, b""
        return data

    def read_line(self, timeout: float = 10.0) -> str:
        """Reads one line from the board (without its newline); raises TimeoutError if none."""
        if self._sock is None:
            raise BoardSessionError("session is closed")
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line from {self.board.id} within {timeout} s")
            self._receive(remaining)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def request(self, line: str, timeout: float = 10.0) -> str:
        """Sends a command and returns its one-line answer, raising on an `ERR` answer."""
        self.send_line(line)
        answer = self.read_line(timeout)
        if answer.startswith("ERR"):
            raise BoardSessionError(f"{line.split(' ', 1)[0]}: {answer}")
        return answer

    def request_json(self, line: str, timeout: float = 10.0) -> dict[str, Any]:
        """Sends a command whose answer is one JSON line and returns it parsed."""
        answer = self.request(line, timeout)
        try:
            value = json.loads(answer)
        except json.JSONDecodeError as exc:
            raise BoardSessionError(f"garbled answer from the board: {answer[:200]!r}") from exc
        if not isinstance(value, dict):
            raise BoardSessionError(f"unexpected answer from the board: {answer[:200]!r}")
        return value

    def info(self) -> dict[str, Any]:
        """The board's `info` answer."""
        return self.request_json("info")

    def classify(
        self,
        window: Sequence[float] | npt.NDArray[np.float32],
        chunk: int = 256,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Classifies one window, uploading it in chunks (`classify begin N` ... `classify end`).

        Values travel as the shortest decimal of their float32, which the firmware reads back
        to the same float32.
        """
        values = np.asarray(window, dtype=np.float32).ravel()
        self.request(f"classify begin {values.size}")
        lines = [
            ",".join(str(v) for v in values[i : i + chunk]) for i in range(0, values.size, chunk)
        ]
        self.send_bytes(("\n".join(lines) + "\nclassify end\n").encode())
        answer = self.read_line(timeout)
        if answer.startswith("ERR"):
            raise BoardSessionError(f"classify: {answer}")
        return dict(json.loads(answer))

    def classify_file(
        self, window: Sequence[float] | npt.NDArray[np.float32], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Classifies one window handed over as a host file (`classify file`): the same answer
        and instruction count as classify(), without the upload through the emulated UART."""
        values = np.asarray(window, dtype="<f4").ravel()
        (self._workdir / HOST_WINDOW_FILE).write_bytes(values.tobytes())
        answer = self.request("classify file", timeout)
        return dict(json.loads(answer))

    def instruction_counts(self) -> dict[str, list[int]]:
        """Instructions per region visit so far, in order (needs count_instructions=True)."""
        counts: dict[str, list[int]] = {}
        try:
            text = self.counts_file.read_text()
        except FileNotFoundError:
            return counts
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if value.isdigit():
                counts.setdefault(name, []).append(int(value))
        return counts

    def close(self) -> None:
        """Stops QEMU (always) and closes the connection; safe to call twice."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
        _release(self._proc, self._dirs)

    def __enter__(self) -> VirtualBoardSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
