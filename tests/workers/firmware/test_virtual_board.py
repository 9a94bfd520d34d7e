"""Tests the firmware on QEMU virtual boards: the line protocol, exact outputs, no orphan QEMU."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workers.boards import get_board, list_boards
from workers.firmware.build import FirmwareBuild, build_firmware
from workers.firmware.qemu import BoardSessionError, VirtualBoardSession

pytestmark = pytest.mark.slow  # runs QEMU

VIRTUAL = [b.id for b in list_boards(kind="virtual")]
LABELS = ["idle", "wave", "ring", "tap"]


def _qemu_running(path: Path) -> bool:
    """True if some process has `path` on its command line (pgrep -f)."""
    found = subprocess.run(["pgrep", "-f", str(path)], capture_output=True, text=True)
    return found.returncode == 0


def _serial_socket(pid: int) -> Path:
    """The unix socket QEMU was told to serve the board's UART on (from its command line)."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    spec = args[args.index(b"-serial") + 1].decode()
    assert spec.startswith("unix:") and spec.endswith(",server=on,wait=on")
    return Path(spec.removeprefix("unix:").split(",")[0])


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _windows(n: int, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, 2.5, n).astype(np.float32) for _ in range(count)]


def _assert_matches(answer: dict[str, Any], model: Any, window: np.ndarray) -> None:
    _, scores, label = model.reference(window)
    assert answer["label_index"] == label
    assert answer["label"] == LABELS[label]
    # Float32 scores printed as shortest decimals read back to the very same float32.
    assert np.array_equal(np.asarray(answer["scores"], dtype=np.float32), scores)


@pytest.mark.parametrize("board_id", VIRTUAL)
def test_info_and_classify_on_every_virtual_board(
    board_id: str, virtual_builds: dict[str, FirmwareBuild], tinyfc: tuple[Path, Any]
) -> None:
    _, model = tinyfc
    build = virtual_builds[board_id]
    board = get_board(board_id)
    with VirtualBoardSession(board, build.elf) as session:
        info = session.info()
        assert info["board"] == board_id
        assert info["arena_bytes"] == model.arena_bytes
        assert info["signal_values"] == model.inputs
        assert info["labels"] == LABELS
        assert info["inputs"][0] == {
            "type": "int8",
            "elements": model.inputs,
            "shape": [1, model.inputs],
            "scale": 0.05,
            "zero_point": -3,
        }
        assert info["outputs"][0]["shape"] == [1, model.outputs]
        assert info["flash_bytes"] == build.flash_bytes
        ram = info["ram"]
        assert info["ram_bytes"] == ram["total_bytes"]
        assert ram["total_bytes"] == ram["arena_bytes"] + ram["stack_bytes"] + ram["static_bytes"]
        assert ram["arena_bytes"] + ram["static_bytes"] == build.data_bss_bytes
        assert 0 < ram["stack_bytes"] < ram["stack_reserved_bytes"] == build.stack_bytes
        assert info["timing"] == "virtual"
        for i, window in enumerate(_windows(model.inputs, 4, seed=len(board_id))):
            if i == 3:
                answer = session.classify_file(window)  # read from the host
            elif i % 2:
                answer = session.classify(window, chunk=10)  # begin / value lines / end
            else:
                text = ",".join(str(v) for v in window)
                answer = session.request_json(f"classify {text}")  # one line
            _assert_matches(answer, model, window)
            assert answer["anomaly"] is None
            assert answer["dsp_us"] >= 0 and answer["inference_us"] >= 0


def test_long_window_uploads_in_chunks(make_tinyfc: Any, tmp_path: Path) -> None:
    model = make_tinyfc(tmp_path / "model", inputs=3000, outputs=4, seed=7)
    board = get_board("virtual-cortex-m7")
    build = build_firmware(board, tmp_path / "model", tmp_path / "fw", labels=LABELS)
    window = _windows(3000, 1, seed=3)[0]
    with VirtualBoardSession(board, build.elf) as session:
        assert session.info()["signal_values"] == 3000
        _assert_matches(session.classify(window, chunk=500), model, window)
        # Saturated inputs exercise the quantizer's clamping.
        loud = np.full(3000, 1e3, dtype=np.float32)
        _assert_matches(session.classify(loud), model, loud)


def test_window_from_a_host_file_counts_like_an_upload(make_tinyfc: Any, tmp_path: Path) -> None:
    model = make_tinyfc(tmp_path / "model", inputs=3000, outputs=4, seed=5)
    board = get_board("virtual-cortex-m4")
    build = build_firmware(board, tmp_path / "model", tmp_path / "fw", labels=LABELS)
    window = _windows(3000, 1, seed=9)[0]
    with VirtualBoardSession(
        board, build.elf, count_instructions=True, regions=build.profile_symbols
    ) as session:
        uploaded = session.classify(window, chunk=500)
        from_file = session.classify_file(window)
        counts = session.instruction_counts()
        # Without the file, or with one of the wrong size, the board says so and stays usable.
        (session.counts_file.parent / "window.f32").unlink()
        with pytest.raises(BoardSessionError, match="ERR classify file: no window.f32"):
            session.request("classify file")
        (session.counts_file.parent / "window.f32").write_bytes(b"\0" * 12)
        with pytest.raises(BoardSessionError, match="ERR classify file"):
            session.request("classify file")
        _assert_matches(session.classify(window), model, window)
    _assert_matches(from_file, model, window)
    assert from_file["scores"] == uploaded["scores"]
    assert counts["invoke"][-1] == counts["invoke"][-2] > 0  # the upload, then the file


def test_protocol_errors_answer_err_and_leave_the_board_usable(
    virtual_builds: dict[str, FirmwareBuild], tinyfc: tuple[Path, Any]
) -> None:
    board = get_board("virtual-cortex-m3")
    _, model = tinyfc
    with VirtualBoardSession(board, virtual_builds[board.id].elf) as session:
        session.send_line("classify 1,2,x")
        assert session.read_line() == "ERR value is not a number"
        session.send_line("classify 1,2")
        assert session.read_line().startswith("ERR classify: the window needs exactly")
        session.send_line("classify begin 5")
        assert session.read_line().startswith("ERR classify: the window needs exactly")
        session.send_line(f"classify begin {model.inputs}")
        assert session.read_line() == "OK classify begin"
        session.send_line("1,2,3")
        session.send_line("classify end")
        assert session.read_line() == "ERR classify: values received differ from classify begin"
        session.send_line("launch rockets")
        assert session.read_line() == "ERR unknown command launch"
        session.send_line("x" * 300)
        assert session.read_line() == "ERR line too long"
        session.send_line("stream")
        assert session.read_line().startswith("ERR stream: no replay data")
        with pytest.raises(BoardSessionError, match="ERR"):
            session.request("replay begin 0 50")
        window = _windows(model.inputs, 1, seed=11)[0]
        _assert_matches(session.classify(window), model, window)


def test_stream_replays_readings_at_the_requested_rate(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    board = get_board("virtual-cortex-m4")
    with VirtualBoardSession(board, virtual_builds[board.id].elf) as session:
        assert session.request("replay begin 3 50") == "OK replay begin"
        session.send_line("1,2,3")
        session.send_line("4.5 -5 6e-3\t0.25,0.5,-0.75")
        assert session.request("replay end") == "OK replay 3 readings"
        start = time.monotonic()
        session.send_line("stream 100")
        lines = [session.read_line() for _ in range(31)]
        elapsed = time.monotonic() - start
        session.send_line("stop")
        tail = session.read_line()
        while tail != "OK stopped":  # readings already on their way when stop arrived
            assert tail.count(",") == 2
            tail = session.read_line()
        assert lines[:4] == ["1,2,3", "4.5,-5,0.006", "0.25,0.5,-0.75", "1,2,3"]
        # 30 periods at 100 Hz on QEMU's real-time clock; generous bounds for a loaded machine.
        assert 0.25 <= elapsed <= 3.0
        assert session.info()["board"] == board.id


@pytest.mark.parametrize("board_id", VIRTUAL)
def test_stream_sleeps_between_readings_and_wakes_for_stop(
    board_id: str, virtual_builds: dict[str, FirmwareBuild]
) -> None:
    board = get_board(board_id)
    with VirtualBoardSession(board, virtual_builds[board_id].elf) as session:
        assert session.pid is not None
        session.request("replay begin 1 50")
        session.send_line("1,2,3")
        assert session.request("replay end") == "OK replay 3 readings"
        session.send_line("stream 100")
        session.read_line()
        cpu, start = _cpu_seconds(session.pid), time.monotonic()
        lines = [session.read_line() for _ in range(100)]
        elapsed = time.monotonic() - start
        cpu = (_cpu_seconds(session.pid) - cpu) / elapsed
        assert set(lines) == {"1", "2", "3"}
        assert 0.5 <= elapsed <= 5.0  # 100 periods at 100 Hz, on a possibly loaded machine
        # Sleeping between readings costs QEMU a few per cent of a core; spinning costs all of it.
        assert cpu < 0.25, f"QEMU used {cpu:.0%} of a core streaming at 100 Hz"
        # `stop` split over two writes, and a command right behind it: no byte is lost.
        session.send_bytes(b"st")
        time.sleep(0.05)
        session.send_bytes(b"op\ninfo\n")
        tail = session.read_line()
        while tail != "OK stopped":
            assert tail in ("1", "2", "3")
            tail = session.read_line()
        assert json.loads(session.read_line())["board"] == board_id
        # One reading every 5 s: `stop` wakes the sleeping board at once. It arrives right after
        # a reading, when a board woken only by its SysTick (at most 2^24 clocks, 0.67 s at
        # 25 MHz) would still be asleep.
        session.send_line("stream 0.2")
        assert session.read_line() == "1"
        start = time.monotonic()
        session.send_line("stop")
        assert session.read_line(timeout=10) == "OK stopped"
        assert time.monotonic() - start < 0.35


def test_raw_bytes_can_be_bridged(virtual_builds: dict[str, FirmwareBuild]) -> None:
    board = get_board("virtual-cortex-m7")
    with VirtualBoardSession(board, virtual_builds[board.id].elf) as session:
        session.send_bytes(b"inf")
        assert session.read_bytes(timeout=0.2) == b""  # no newline yet, so no answer
        session.send_bytes(b"o\r\n")
        received = b""
        while not received.endswith(b"\n"):
            received += session.read_bytes(timeout=5)
        assert received.startswith(b'{"protocol":1,"board":"virtual-cortex-m7"')


def test_close_leaves_no_qemu_process(virtual_builds: dict[str, FirmwareBuild]) -> None:
    board = get_board("virtual-cortex-m33")
    elf = virtual_builds[board.id].elf
    session = VirtualBoardSession(board, elf)
    assert session.is_running() and _qemu_running(elf)
    session.close()
    assert not session.is_running()
    assert not _qemu_running(elf)
    session.close()  # twice is harmless


def test_serial_line_is_a_private_unix_socket_removed_with_the_session(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    board = get_board("virtual-cortex-m3")
    session = VirtualBoardSession(board, virtual_builds[board.id].elf)
    assert session.pid is not None
    directory = _serial_socket(session.pid).parent
    assert directory.is_dir()
    assert directory.stat().st_mode & 0o777 == 0o700
    # Connected, the socket's name is gone: nobody else can reach the board's UART.
    assert not _serial_socket(session.pid).exists()
    assert session.info()["board"] == board.id
    session.close()
    assert not directory.exists()


def test_sessions_started_at_once_each_get_their_own_board(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    def start(board_id: str) -> VirtualBoardSession:
        # Pool threads end before the sessions: do not tie QEMU to them.
        return VirtualBoardSession(
            get_board(board_id), virtual_builds[board_id].elf, kill_with_parent=False
        )

    ids = VIRTUAL * 2
    with ThreadPoolExecutor(len(ids)) as pool:
        sessions = list(pool.map(start, ids))
    try:
        assert [s.info()["board"] for s in sessions] == ids
        assert len({_serial_socket(s.pid or 0) for s in sessions}) == len(ids)
    finally:
        for s in sessions:
            s.close()


def test_long_temporary_directory_still_gets_a_socket(
    virtual_builds: dict[str, FirmwareBuild], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_dir = tmp_path / ("d" * 100)  # a socket path must fit in 107 bytes
    long_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    board = get_board("virtual-cortex-m7")
    with VirtualBoardSession(board, virtual_builds[board.id].elf) as session:
        assert session.pid is not None
        directory = _serial_socket(session.pid).parent
        assert not directory.is_relative_to(long_dir)
        assert session.info()["board"] == board.id
        assert any(long_dir.iterdir())  # QEMU's output and counts stay in the session directory
    assert not directory.exists()
    assert not any(long_dir.iterdir())


def test_crashed_or_dropped_sessions_leave_nothing_behind(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    board = get_board("virtual-cortex-m4")
    elf = virtual_builds[board.id].elf
    crashed = VirtualBoardSession(board, elf)
    assert crashed.pid is not None
    directory = _serial_socket(crashed.pid).parent
    os.kill(crashed.pid, signal.SIGKILL)
    with pytest.raises(BoardSessionError, match="stopped"):
        crashed.read_line(timeout=5)
    crashed.close()
    assert not directory.exists()

    dropped = VirtualBoardSession(board, elf)
    assert dropped.pid is not None
    pid, directory = dropped.pid, _serial_socket(dropped.pid).parent
    del dropped
    gc.collect()
    assert not directory.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # stopped and reaped by the finalizer


def test_exception_inside_with_block_still_stops_qemu(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    board = get_board("virtual-cortex-m4")
    elf = virtual_builds[board.id].elf
    with pytest.raises(RuntimeError, match="boom"), VirtualBoardSession(board, elf):
        raise RuntimeError("boom")
    assert not _qemu_running(elf)


def test_board_that_stops_ends_the_session_with_a_message(
    virtual_builds: dict[str, FirmwareBuild],
) -> None:
    board = get_board("virtual-cortex-m3")
    with VirtualBoardSession(board, virtual_builds[board.id].elf) as session:
        assert session.request("exit") == "OK exit"
        with pytest.raises(BoardSessionError, match="stopped"):
            session.read_line(timeout=5)
        deadline = time.monotonic() + 5
        while session.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not session.is_running()


_ORPHAN_SCRIPT = """
import sys, time
from pathlib import Path
from workers.boards import get_board
from workers.firmware.qemu import VirtualBoardSession
session = VirtualBoardSession(get_board(sys.argv[1]), Path(sys.argv[2]))
print(session.pid, flush=True)
time.sleep(60)
"""


def test_qemu_dies_with_the_process_that_started_it(
    virtual_builds: dict[str, FirmwareBuild], tmp_path: Path
) -> None:
    board = get_board("virtual-cortex-m7")
    elf = tmp_path / "own.elf"  # a unique path, so pgrep sees only this test's QEMU
    elf.write_bytes(virtual_builds[board.id].elf.read_bytes())
    starter = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, board.id, str(elf)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its session files, never cleaned up
    )
    try:
        assert starter.stdout is not None
        assert int(starter.stdout.readline())  # QEMU is up
        assert _qemu_running(elf)
        os.kill(starter.pid, signal.SIGKILL)  # no close(), no finalizers: only the kernel acts
        starter.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _qemu_running(elf) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _qemu_running(elf)
    finally:
        if starter.poll() is None:
            starter.kill()


_PAIR_SUM_GLUE_H = """\
#ifndef TS_IMPULSE_DSP_H
#define TS_IMPULSE_DSP_H
#include <stddef.h>
#define TS_DSP_INPUT_VALUES 64
#define TS_DSP_OUTPUT_VALUES 32
int ts_impulse_dsp_run(const float *signal, size_t len, float *features, size_t n);
#endif
"""
_PAIR_SUM_GLUE_C = """\
#include "ts_impulse_dsp.h"
int ts_impulse_dsp_run(const float *signal, size_t len, float *features, size_t n)
{
    if (len != 2 * n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        features[i] = signal[2 * i] + signal[2 * i + 1];
    }
    return 0;
}
"""


def test_dsp_stage_runs_between_window_and_model(tinyfc: tuple[Path, Any], tmp_path: Path) -> None:
    model_dir, model = tinyfc
    glue = tmp_path / "glue"
    glue.mkdir()
    (glue / "ts_impulse_dsp.h").write_text(_PAIR_SUM_GLUE_H)
    (glue / "ts_impulse_dsp.c").write_text(_PAIR_SUM_GLUE_C)
    board = get_board("virtual-cortex-m4")
    build = build_firmware(board, model_dir, tmp_path / "fw", labels=LABELS, dsp_dirs=[glue])
    assert build.flash["dsp_code"] > 0
    assert build.ram["signal_window"] == 4 * 64  # the raw window
    assert build.ram["dsp_buffers"] == 4 * 32  # the features
    window = _windows(64, 1, seed=21)[0]
    with VirtualBoardSession(board, build.elf) as session:
        assert session.info()["signal_values"] == 64
        answer = session.classify(window)
    features = window[0::2] + window[1::2]  # float32 adds, as on the board
    _assert_matches(answer, model, features)
