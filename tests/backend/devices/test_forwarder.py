"""The serial data forwarder on a real pty fed at a steady rate, uploading to a real HTTP server."""

from __future__ import annotations

import json
import os
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner

from backend.datasets.formats import UploadLimits, parse_upload
from backend.devices.forwarder import (
    Forwarder,
    ForwarderAbort,
    ForwarderError,
    detect,
    encode_header,
    forward_command,
    parse_line,
)

AXES = 6
RATE_HZ = 100
PARTIAL_LINE = b"7,1.2,3\n"


def reading(index: int) -> list[float]:
    """The n-th reading the fake board prints: recognisable values per axis."""
    return [round(index + axis / 10, 1) for axis in range(AXES)]


@dataclass
class FakeBoard:
    """A thread writing readings into the master side of a pty at a steady rate."""

    master: int
    slave_path: str
    separators: tuple[str, ...] = (",", "\t", " ")
    error_after: int | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self, delay_s: float = 0.0) -> None:
        self.thread = threading.Thread(target=self.run, args=(delay_s,), daemon=True)
        self.thread.start()

    def run(self, delay_s: float) -> None:
        if self.stop.wait(delay_s):
            return
        # As if the port were opened mid-line: the first bytes are the tail of a reading.
        os.write(self.master, PARTIAL_LINE)
        start = time.monotonic()
        index = 0
        while not self.stop.is_set():
            if self.error_after is not None and index >= self.error_after:
                line = "ERR: accelerometer not found"
            else:
                separator = self.separators[index % len(self.separators)]
                line = separator.join(f"{v:g}" for v in reading(index))
            try:
                os.write(self.master, (line + "\r\n").encode())
            except OSError:
                return
            index += 1
            # Absolute schedule: no drift however long each write takes.
            delay = start + index / RATE_HZ - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)


@pytest.fixture
def board() -> Iterator[FakeBoard]:
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no newline translation: bytes pass as a UART would
    fake = FakeBoard(master=master, slave_path=os.ttyname(slave))
    yield fake
    fake.stop.set()
    if fake.thread is not None:
        fake.thread.join(timeout=2)
    os.close(master)
    os.close(slave)


def test_header_values_are_encoded_like_encode_uri_component() -> None:
    assert encode_header("idle") == "idle"
    assert encode_header("left wave.01.json") == "left%20wave.01.json"
    assert encode_header("café/±(x)!*~'") == "caf%C3%A9%2F%C2%B1(x)!*~'"


def test_parse_line_accepts_commas_tabs_and_spaces() -> None:
    assert parse_line("1,2.5,-3\r\n") == [1.0, 2.5, -3.0]
    assert parse_line("1\t2  3") == [1.0, 2.0, 3.0]
    assert parse_line("1, 2 ,\t3") == [1.0, 2.0, 3.0]
    assert parse_line("   ") == []
    with pytest.raises(ForwarderAbort, match="ERR: no sensor"):
        parse_line("ERR: no sensor")
    with pytest.raises(ForwarderAbort):
        parse_line("<err> failed")
    with pytest.raises(ValueError):
        parse_line("hello, world")
    with pytest.raises(ValueError):
        parse_line("1,nan,2")


def test_detect_drops_partial_first_and_last_lines() -> None:
    lines = [(0.0, "5,6")] + [(0.01 * i, "1,2,3") for i in range(1, 51)] + [(0.995, "1,")]
    assert detect(lines, window_s=1.0) == (3, 50.0)


def test_a_given_frequency_needs_only_one_complete_reading() -> None:
    lines = [(0.0, "2,3"), (0.4, "1,2,3"), (0.9, "1,")]
    assert detect(lines, window_s=2.5, frequency_hz=1.0) == (3, 1.0)
    with pytest.raises(ForwarderError, match="fewer than two"):
        detect(lines, window_s=2.5)


def test_detect_refuses_inconsistent_or_empty_streams() -> None:
    with pytest.raises(ForwarderError, match="different number"):
        detect([(0.1 * i, "1,2,3" if i != 5 else "1,2") for i in range(10)])
    with pytest.raises(ForwarderError, match="no sensor readings"):
        detect([(0.1, "booting..."), (0.2, "hello")])
    with pytest.raises(ForwarderError, match="fewer than two"):
        detect([(0.5, "1,2,3")])
    with pytest.raises(ForwarderAbort, match="ERR: sensor"):
        detect([(0.0, "1,2"), (0.1, "ERR: sensor"), (0.2, "1,2")])


def test_partial_first_line_from_the_pty_is_dropped(board: FakeBoard) -> None:
    with Forwarder.open(board.slave_path) as forwarder:
        # The board starts after the window opened, so its partial first line is received.
        board.start(delay_s=0.2)
        lines = forwarder.read_window(1.0)
    assert lines[0][1] == PARTIAL_LINE.decode().strip()
    assert all(len(parse_line(text)) == AXES for _, text in lines[1:])
    axes, frequency = detect(lines, window_s=1.0)
    assert axes == AXES
    assert frequency == pytest.approx(RATE_HZ, rel=0.1)
    arrival = [t for t, _ in lines]
    assert arrival == sorted(arrival)


def test_forwarder_detects_six_axes_at_100_hz_on_a_pty(board: FakeBoard) -> None:
    board.start()
    with Forwarder.open(board.slave_path, 115200) as forwarder:
        info = forwarder.detect()
        assert info.axes == AXES
        assert info.frequency_hz == pytest.approx(RATE_HZ, rel=0.1)
        assert len(info.example) == AXES
        # The example is a whole reading (consecutive axes), never the partial first line.
        assert [round(v - info.example[0], 1) for v in info.example] == [
            0.0,
            0.1,
            0.2,
            0.3,
            0.4,
            0.5,
        ]

        seen: list[int] = []
        values = forwarder.record(
            500, info.axes, RATE_HZ, on_reading=lambda _v, done, total: seen.append(done)
        )
    assert values.shape == (50, AXES) and values.dtype == np.float32
    assert seen == list(range(1, 51))
    # Consecutive readings from the board, in order, none lost or torn.
    first = int(values[0, 0])
    expected = np.array([reading(first + i) for i in range(50)], dtype=np.float32)
    np.testing.assert_array_equal(values, expected)


def test_err_line_aborts_detection_and_recording(board: FakeBoard) -> None:
    board.error_after = 30
    board.start()
    with Forwarder.open(board.slave_path) as forwarder, pytest.raises(ForwarderAbort, match="ERR"):
        forwarder.detect()
    with Forwarder.open(board.slave_path) as forwarder, pytest.raises(ForwarderAbort):
        forwarder.record(500, AXES, RATE_HZ)


def test_recording_times_out_when_the_rate_is_wrong(board: FakeBoard) -> None:
    board.start()
    with (
        Forwarder.open(board.slave_path) as forwarder,
        pytest.raises(ForwarderError, match="arrived in time"),
    ):
        forwarder.record(100, AXES, 2000)  # 200 readings expected within 1.2 s: only ~120 come


class _Recorder(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.dumps({"success": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    posts: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Handler", (_Recorder,), {"posts": posts})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", posts
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=2)


def test_forward_command_records_and_uploads_labelled_samples(
    board: FakeBoard, server: tuple[str, list[tuple[str, dict[str, str], bytes]]]
) -> None:
    url, posts = server
    board.start()
    result = CliRunner().invoke(
        forward_command,
        [
            "--port",
            board.slave_path,
            "--axes",
            "accX,accY,accZ,gyrX,gyrY,gyrZ",
            "--label",
            "left wave",
            "--length-ms",
            "300",
            "--category",
            "testing",
            "--server",
            url,
            "--api-key",
            "ei_test_key",
            "--hmac-key",
            "secret",
            "--count",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(posts) == 2
    for path, headers, body in posts:
        assert path == "/api/testing/data"
        assert headers["x-api-key"] == "ei_test_key"
        # Percent-encoded like Edge Impulse's forwarder (encodeURIComponent).
        assert headers["x-label"] == "left%20wave"
        assert headers["content-type"] == "application/json"
        file_name = unquote(headers["x-file-name"])
        assert file_name.startswith("left wave.") and file_name.endswith(".json")
        sample = parse_upload(
            file_name,
            headers["content-type"],
            body,
            hmac_key=b"secret",
            limits=UploadLimits(),
        )
        assert sample.signature_verified
        assert sample.values.shape == (30, 6)
        assert sample.interval_ms == pytest.approx(10.0, rel=0.1)
        assert [name for name, _ in sample.sensors] == [
            "accX",
            "accY",
            "accZ",
            "gyrX",
            "gyrY",
            "gyrZ",
        ]
        assert sample.sensors[0][1] == "m/s2"
        assert sample.device_type == "DATA_FORWARDER"
        steps = np.diff(sample.values[:, 0])
        np.testing.assert_array_equal(steps, np.ones(29, dtype=np.float32))


def test_forward_command_reports_errors_plainly(
    board: FakeBoard, server: tuple[str, list[tuple[str, dict[str, str], bytes]]]
) -> None:
    url, posts = server
    board.start()
    runner = CliRunner()
    wrong_axes = runner.invoke(
        forward_command,
        [
            "--port",
            board.slave_path,
            "--axes",
            "x,y",
            "--label",
            "idle",
            "--server",
            url,
            "--api-key",
            "k",
        ],
    )
    assert wrong_axes.exit_code == 2 and "6 values per line" in wrong_axes.output
    blank_label = runner.invoke(
        forward_command, ["--port", board.slave_path, "--label", "  ", "--api-key", "k"]
    )
    assert blank_label.exit_code == 2 and "whitespace" in blank_label.output
    missing = runner.invoke(
        forward_command, ["--port", "/dev/does-not-exist", "--label", "idle", "--api-key", "k"]
    )
    assert missing.exit_code == 1 and "cannot open /dev/does-not-exist" in missing.output
    assert posts == []
