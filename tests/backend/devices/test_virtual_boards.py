"""Virtual boards as a service: real firmware in real QEMU, its UART on a real WebSocket.

The firmware is built with `build_firmware` around "echo", a tiny int8 model written here in C
that honours the compiled-model contract: output i = input i, so `classify` picks the largest
input. Two builds with different names and labels make flashing visible in `info`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.devices import board_errors, serial_lines, virtual
from backend.devices.virtual import VirtualBoardLimits, VirtualBoardManager
from workers.boards import get_board
from workers.firmware.build import build_firmware

pytestmark = pytest.mark.timeout(120)

BOARD = "virtual-cortex-m4"
ECHO_SIZE = 4
ECHO_SCALE = 0.05  # both tensors: q = round(x / 0.05), scores = q * 0.05

_ECHO_HEADER = f"""\
/* ts_model.h - echo: four int8 inputs copied to four int8 outputs (test model). */
#ifndef TS_MODEL_H
#define TS_MODEL_H
#include <stdint.h>
#define TS_TYPE_INT8 9
#define TS_MODEL_ARENA_BYTES 16
#define TS_MODEL_INPUT_COUNT 1
#define TS_MODEL_OUTPUT_COUNT 1
#define TS_MODEL_INPUT0_TYPE TS_TYPE_INT8
#define TS_MODEL_INPUT0_ELEMENTS {ECHO_SIZE}
#define TS_MODEL_INPUT0_BYTES {ECHO_SIZE}
#define TS_MODEL_INPUT0_SCALE {ECHO_SCALE}f
#define TS_MODEL_INPUT0_ZERO_POINT 0
#define TS_MODEL_INPUT0_RANK 2
#define TS_MODEL_INPUT0_DIMS {{1, {ECHO_SIZE}}}
#define TS_MODEL_OUTPUT0_TYPE TS_TYPE_INT8
#define TS_MODEL_OUTPUT0_ELEMENTS {ECHO_SIZE}
#define TS_MODEL_OUTPUT0_BYTES {ECHO_SIZE}
#define TS_MODEL_OUTPUT0_SCALE {ECHO_SCALE}f
#define TS_MODEL_OUTPUT0_ZERO_POINT 0
#define TS_MODEL_OUTPUT0_RANK 2
#define TS_MODEL_OUTPUT0_DIMS {{1, {ECHO_SIZE}}}
void *ts_model_input(int index);
void *ts_model_output(int index);
int ts_model_invoke(void);
extern const char *const ts_model_op_names[];
#endif
"""

_ECHO_SOURCE = """\
/* ts_model.c - echo: the output tensor is a copy of the input tensor. */
#include "ts_model.h"
#include <stddef.h>
static int8_t arena[TS_MODEL_ARENA_BYTES] __attribute__((aligned(16)));
const char *const ts_model_op_names[] = {"RESHAPE"};
void *ts_model_input(int index) { return index == 0 ? (void *)&arena[0] : NULL; }
void *ts_model_output(int index) { return index == 0 ? (void *)&arena[8] : NULL; }
int ts_model_invoke(void)
{
    for (int i = 0; i < TS_MODEL_INPUT0_ELEMENTS; i++) {
        arena[8 + i] = arena[i];
    }
    return 0;
}
"""

FIRMWARE_A = ("echo-a", ["idle", "wave", "ring", "tap"])
FIRMWARE_B = ("echo-b", ["north", "east", "south", "west"])


# --- helpers ---------------------------------------------------------------------------------


def _qemu_children() -> list[int]:
    """QEMU processes whose parent is this test process (what an orphan would be)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm.startswith("qemu-system"):
            found.append(int(entry.name))
    return found


def _alive(pid: int | None) -> bool:
    """True while the process runs (a zombie waiting for its reaper counts as ended)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _receive(ws: Any, timeout: float = 15.0) -> dict[str, Any]:
    """The next message the server sent on a TestClient WebSocket, failing after `timeout`."""

    async def next_message() -> dict[str, Any]:
        with anyio.fail_after(timeout):
            return dict(await ws._send_rx.receive())  # the TestClient's own message stream

    return ws.portal.call(next_message)


def _line(ws: Any, timeout: float = 15.0) -> str:
    message = _receive(ws, timeout)
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason", ""))
    return str(message["text"])


def _line_starting(ws: Any, prefix: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = _line(ws, max(deadline - time.monotonic(), 0.1))
        if line.startswith(prefix):
            return line


def _closure(ws: Any, timeout: float = 15.0) -> tuple[int, str]:
    """Reads until the server closes the socket; returns (code, reason)."""
    deadline = time.monotonic() + timeout
    while True:
        message = _receive(ws, max(deadline - time.monotonic(), 0.1))
        if message["type"] == "websocket.close":
            return int(message.get("code", 1000)), str(message.get("reason", ""))


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The echo firmware built twice for the virtual Cortex-M4 (names echo-a and echo-b)."""
    root = tmp_path_factory.mktemp("echo")
    model_dir = root / "model"
    model_dir.mkdir()
    (model_dir / "ts_model.h").write_text(_ECHO_HEADER)
    (model_dir / "ts_model.c").write_text(_ECHO_SOURCE)
    builds = {}
    for name, labels in (FIRMWARE_A, FIRMWARE_B):
        build = build_firmware(
            get_board(BOARD), model_dir, root / name, model_name=name, labels=labels
        )
        builds[name] = build.elf
    return builds


@pytest.fixture(scope="module", autouse=True)
def no_orphan_qemu() -> Iterator[None]:
    """Whatever these tests did, no QEMU they started survives them."""
    before = set(_qemu_children())  # sessions other test modules may hold open
    yield
    virtual.shutdown_board_manager()
    assert _wait_for(lambda: not set(_qemu_children()) - before, 5), (
        f"QEMU left running: {set(_qemu_children()) - before}"
    )


@pytest.fixture(scope="module")
def devices_app(migrated: None) -> FastAPI:
    """An application with the device routes and the accounts routes (to log in)."""
    from backend.accounts.views import router as accounts_router
    from backend.devices.views import router as devices_router

    app = FastAPI()
    app.include_router(accounts_router)
    app.include_router(devices_router)
    return app


@pytest.fixture()
def use_limits(devices_app: FastAPI) -> Iterator[Callable[..., VirtualBoardManager]]:
    """Factory: makes the routes use a fresh manager with the given limits."""
    managers: list[VirtualBoardManager] = []

    def use(**limits: Any) -> VirtualBoardManager:
        manager = VirtualBoardManager(VirtualBoardLimits(**limits))
        managers.append(manager)
        devices_app.dependency_overrides[virtual.get_board_manager] = lambda: manager
        return manager

    yield use
    devices_app.dependency_overrides.pop(virtual.get_board_manager, None)
    for manager in managers:
        manager.shutdown()
        assert manager.running_count() == 0


@pytest.fixture()
def api(devices_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(devices_app) as client:
        yield client


@dataclass
class World:
    """A project with people of each role, and its firmware deployments by name."""

    project_id: int
    people: dict[str, Any]
    deployments: dict[str, int]

    def headers(self, role: str = "owner") -> dict[str, str]:
        return dict(self.people[role].headers)

    def token(self, role: str = "owner") -> str:
        return self.headers(role)["Authorization"].split(" ", 1)[1]

    @property
    def base(self) -> str:
        return f"/api/projects/{self.project_id}/virtual-boards"

    def serial(self, virtual_board_id: str, role: str = "owner") -> str:
        return f"{self.base}/{virtual_board_id}/serial?token={self.token(role)}"


def _add_firmware_deployment(project_id: int, user_id: int, elf: Path, board_id: str) -> int:
    """A succeeded firmware deployment whose job stored `elf` as its firmware.elf artifact."""
    from backend.core.blobs import get_blob_store
    from backend.core.db import get_sessionmaker, utcnow
    from backend.datasets.models import DatasetVersion
    from backend.deployments.models import Deployment
    from backend.impulses.models import Impulse, ImpulseVersion, TrainingRun
    from backend.jobs.models import Artifact, Job, JobStatus

    with get_sessionmaker()() as db:
        impulse = Impulse(project_id=project_id, name="echo")
        db.add(impulse)
        db.flush()
        version = ImpulseVersion(impulse_id=impulse.id, version=1, spec={})
        data = DatasetVersion(
            project_id=project_id, name="v1", entries=[], sample_count=0, fingerprint="0" * 64
        )
        db.add_all([version, data])
        db.flush()
        run = TrainingRun(
            project_id=project_id, impulse_id=impulse.id, impulse_version_id=version.id,
            dataset_version_id=data.id,
        )  # fmt: skip
        job = Job(
            project_id=project_id, kind="deployment.build", status=JobStatus.succeeded,
            finished_at=utcnow(),
        )  # fmt: skip
        db.add_all([run, job])
        db.flush()
        key = f"projects/{project_id}/jobs/{job.id}/{uuid.uuid4().hex}/firmware.elf"
        size = get_blob_store().put(key, elf.read_bytes())
        artifact = Artifact(
            job_id=job.id, project_id=project_id, name="firmware.elf", kind="firmware-elf",
            blob_key=key, size_bytes=size, sha256="0" * 64,
        )  # fmt: skip
        db.add(artifact)
        db.flush()
        deployment = Deployment(
            project_id=project_id, training_run_id=run.id, target="firmware", board_id=board_id,
            job_id=job.id, report={"artifacts": {"firmware.elf": artifact.id}},
            created_by_id=user_id,
        )  # fmt: skip
        db.add(deployment)
        db.commit()
        return deployment.id


def _add_sample(project_id: int, values: np.ndarray, interval_ms: float) -> int:
    from backend.core.db import get_sessionmaker
    from backend.datasets.models import Sample
    from backend.datasets.service import store_values

    key, digest = store_values(project_id, values)
    with get_sessionmaker()() as db:
        sample = Sample(
            project_id=project_id, name="replayed", label="wave", category="training",
            sensors=[{"name": f"axis{i}", "units": "g"} for i in range(values.shape[1])],
            interval_ms=interval_ms, length=values.shape[0], axes=values.shape[1],
            values_key=key, values_sha256=digest, original_key=key, original_name="replayed.csv",
            original_format="csv", sha256=digest, size_bytes=values.nbytes,
        )  # fmt: skip
        db.add(sample)
        db.commit()
        return sample.id


@pytest.fixture()
def world(make_project, firmware: dict[str, Path]) -> World:  # type: ignore[no-untyped-def]
    project_id, people = make_project("viewer", "editor", name="Virtual boards")
    owner = people["owner"].id
    deployments = {
        name: _add_firmware_deployment(project_id, owner, elf, BOARD)
        for name, elf in firmware.items()
    }
    return World(project_id=project_id, people=people, deployments=deployments)


def _start(api: TestClient, world: World, deployment: str = "echo-a") -> dict[str, Any]:
    answer = api.post(
        world.base,
        json={"board_id": BOARD, "deployment_id": world.deployments[deployment]},
        headers=world.headers(),
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _pid(manager: VirtualBoardManager, world: World, virtual_board_id: str) -> int:
    found = manager.find(world.project_id, virtual_board_id)
    assert found is not None and found.qemu_pid is not None
    return found.qemu_pid


# --- tests -----------------------------------------------------------------------------------


def test_serial_lines_are_split_and_garbage_is_refused() -> None:
    lines, rest = serial_lines.split_lines(b'OK tinystudio ready\r\n{"a":1}\n0.5,1')
    assert lines == ["OK tinystudio ready", '{"a":1}'] and rest == b"0.5,1"
    with pytest.raises(board_errors.GarbledLine, match="garbled"):
        serial_lines.split_lines(b"OK\n\x00\xff\x13junk\n")
    with pytest.raises(board_errors.GarbledLine, match="longer than"):
        serial_lines.split_lines(b"1" * (serial_lines.MAX_LINE_BYTES + 1))
    assert serial_lines.browser_lines("classify 1,2,3\r\n") == ["classify 1,2,3"]
    with pytest.raises(ValueError, match="printable ASCII"):
        serial_lines.browser_lines("info\x07")


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYSTUDIO_VIRTUAL_BOARDS_MAX", "3")
    monkeypatch.setenv("TINYSTUDIO_VIRTUAL_BOARD_IDLE_SECONDS", "42.5")
    monkeypatch.setenv("TINYSTUDIO_VIRTUAL_BOARD_MAX_SECONDS", "600")
    monkeypatch.setenv("TINYSTUDIO_VIRTUAL_BOARD_GRACE_SECONDS", "2")
    assert VirtualBoardLimits.from_env() == VirtualBoardLimits(3, 42.5, 600.0, 2.0)
    monkeypatch.setenv("TINYSTUDIO_VIRTUAL_BOARDS_MAX", "many")
    with pytest.raises(ValueError, match="virtual_boards_max"):
        VirtualBoardLimits.from_env()


def test_board_over_websocket_classifies_replays_streams_and_flashes(
    api: TestClient, world: World, use_limits
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits()
    started = _start(api, world)
    assert started["state"] == "running" and started["board_id"] == BOARD
    assert started["info"]["model"] == "echo-a" and started["info"]["labels"] == FIRMWARE_A[1]
    assert started["deployment_id"] == world.deployments["echo-a"]
    listed = api.get(world.base, headers=world.headers("viewer")).json()
    assert [b["id"] for b in listed] == [started["id"]]
    first_pid = _pid(manager, world, started["id"])

    values = (np.arange(40 * 3, dtype=np.float32).reshape(40, 3) * 0.25 - 7).astype(np.float32)
    sample_id = _add_sample(world.project_id, values, interval_ms=20.0)

    with api.websocket_connect(world.serial(started["id"], "editor")) as ws:
        ws.send_text("info")
        info = json.loads(_line(ws))
        assert info["model"] == "echo-a" and info["board"] == BOARD

        # Output i = input i: the largest input wins.
        ws.send_text("classify 0,0.5,1,0.25")
        answer = json.loads(_line(ws))
        assert (answer["label"], answer["label_index"]) == ("ring", 2)
        assert answer["scores"] == pytest.approx([0.0, 0.5, 1.0, 0.25])

        replay = api.post(
            f"{world.base}/{started['id']}/replay", json={"sample_id": sample_id},
            headers=world.headers("editor"),
        )  # fmt: skip
        assert replay.status_code == 200, replay.text
        assert replay.json() | {"answer": None} == {
            "sample_id": sample_id, "axes": 3, "hz": 50.0, "readings": 40,
            "sample_readings": 40, "truncated": False, "answer": None,
        }  # fmt: skip
        assert replay.json()["answer"].startswith("OK replay 40")
        # The browser sees the board's answers to the replay upload like any other line.
        _line_starting(ws, "OK replay 40")

        ws.send_text("stream")
        readings, times = [], []
        for _ in range(60):
            readings.append([float(v) for v in _line(ws).split(",")])
            times.append(time.monotonic())
        busy = api.post(
            f"{world.base}/{started['id']}/replay", json={"sample_id": sample_id},
            headers=world.headers(),
        )  # fmt: skip
        assert busy.status_code == 409 and "stop" in busy.json()["detail"]["message"]
        ws.send_text("stop")
        _line_starting(ws, "OK stopped")
        expected = [values[i % 40].tolist() for i in range(60)]
        assert readings == expected
        rate = (len(times) - 1) / (times[-1] - times[0])
        assert 30 < rate < 75, f"streamed at {rate:.1f} Hz instead of the sample's 50 Hz"

        # Flash: QEMU restarts with the second image; the socket stays open.
        flashed = api.post(
            f"{world.base}/{started['id']}/flash",
            json={"deployment_id": world.deployments["echo-b"]}, headers=world.headers(),
        )  # fmt: skip
        assert flashed.status_code == 200, flashed.text
        assert flashed.json()["info"]["model"] == "echo-b"
        assert flashed.json()["deployment_id"] == world.deployments["echo-b"]
        assert _line_starting(ws, "OK tinystudio") == "OK tinystudio ready"
        ws.send_text("classify 0,0.5,1,0.25")
        assert json.loads(_line(ws))["label"] == "south"
        second_pid = _pid(manager, world, started["id"])
        assert second_pid != first_pid and not _alive(first_pid) and _alive(second_pid)

        # A drawn signal replays like a sample.
        drawn = api.post(
            f"{world.base}/{started['id']}/replay",
            json={"values": [[1.5], [-2], [3]], "hz": 100}, headers=world.headers(),
        )  # fmt: skip
        assert drawn.status_code == 200, drawn.text
        assert (drawn.json()["sample_id"], drawn.json()["readings"]) == (None, 3)
        _line_starting(ws, "OK replay 3")
        ws.send_text("stream")
        streamed = [_line(ws) for _ in range(7)]
        ws.send_text("stop")
        _line_starting(ws, "OK stopped")
        assert streamed == ["1.5", "-2", "3", "1.5", "-2", "3", "1.5"]
        ragged = api.post(
            f"{world.base}/{started['id']}/replay",
            json={"values": [[1, 2], [3]], "hz": 10}, headers=world.headers(),
        )  # fmt: skip
        assert ragged.status_code == 422 and "reading 1 has 1 values" in ragged.text

        stopped = api.delete(f"{world.base}/{started['id']}", headers=world.headers("editor"))
        assert stopped.status_code == 204
        assert not _alive(second_pid)
        code, reason = _closure(ws)
        assert code == 1001 and "stopped by" in reason
    assert api.get(f"{world.base}/{started['id']}", headers=world.headers()).status_code == 404
    assert manager.running_count() == 0


def test_five_boards_run_at_once_and_a_sixth_is_refused(
    api: TestClient, world: World, use_limits
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits(max_boards=5)
    with ThreadPoolExecutor(5) as pool:
        started = list(pool.map(lambda _: _start(api, world), range(5)))
    assert len({b["id"] for b in started}) == 5
    assert manager.running_count() == 5

    refused = api.post(world.base, json={"board_id": BOARD}, headers=world.headers())
    assert refused.status_code == 429
    assert refused.json()["detail"]["code"] == "virtual_board_limit"
    assert "5" in refused.json()["detail"]["message"]

    pids = [_pid(manager, world, b["id"]) for b in started]
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(api.websocket_connect(world.serial(b["id"]))) for b in started
        ]
        for ws in sockets:
            ws.send_text("info")
        for ws in sockets:
            assert json.loads(_line(ws))["model"] == "echo-a"
    for board in started:
        assert api.delete(f"{world.base}/{board['id']}", headers=world.headers()).status_code == 204
    assert not any(_alive(pid) for pid in pids)
    # Without a deployment id the newest firmware deployment for the board is used.
    again = api.post(world.base, json={"board_id": BOARD}, headers=world.headers())
    assert again.status_code == 201, again.text
    assert again.json()["deployment_id"] == max(world.deployments.values())


@pytest.mark.parametrize(
    ("limit", "why"), [("idle_seconds", "idle"), ("max_seconds", "lifetime limit")]
)
def test_idle_or_old_board_is_stopped_and_its_socket_told_why(
    api: TestClient, world: World, use_limits, limit: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits(**{limit: 1.5})
    began = time.monotonic()
    started = _start(api, world)
    pid = _pid(manager, world, started["id"])
    with api.websocket_connect(world.serial(started["id"])) as ws:
        code, reason = _closure(ws, timeout=10)
        waited = time.monotonic() - began
    assert code == 1001 and why in reason
    assert 1.4 < waited < 5.0
    assert not _alive(pid)
    shown = api.get(f"{world.base}/{started['id']}", headers=world.headers()).json()
    assert shown["state"] == "stopped" and why in shown["stop_reason"]


def test_board_stops_after_the_grace_period_once_the_last_socket_closed(
    api: TestClient, world: World, use_limits
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits(grace_seconds=1.5)
    started = _start(api, world)
    pid = _pid(manager, world, started["id"])
    url = f"{world.base}/{started['id']}"
    with api.websocket_connect(world.serial(started["id"])) as ws:
        ws.send_text("info")
        _line(ws)
        time.sleep(2.0)  # longer than the grace period, but a socket is attached
        assert api.get(url, headers=world.headers()).json()["connections"] == 1
        assert _alive(pid)
    closed_at = time.monotonic()
    assert api.get(url, headers=world.headers()).json()["state"] == "running"
    assert _wait_for(lambda: not _alive(pid), 6)
    assert 1.2 < time.monotonic() - closed_at < 6
    shown = api.get(url, headers=world.headers()).json()
    assert shown["state"] == "stopped" and "without a connected browser" in shown["stop_reason"]


def test_qemu_crash_closes_the_socket_with_a_message(
    api: TestClient, world: World, use_limits
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits()
    started = _start(api, world)
    pid = _pid(manager, world, started["id"])
    with api.websocket_connect(world.serial(started["id"])) as ws:
        ws.send_text("info")
        _line(ws)  # attached and answered: now the crash
        os.kill(pid, signal.SIGKILL)
        code, reason = _closure(ws)
    assert code == 1011 and "stopped unexpectedly" in reason, (code, reason)
    shown = api.get(f"{world.base}/{started['id']}", headers=world.headers()).json()
    assert shown["state"] == "stopped" and "stopped unexpectedly" in shown["stop_reason"]
    assert "waiting for connection" not in shown["stop_reason"]
    assert manager.running_count() == 0
    # A socket opened after the crash is told the same.
    with api.websocket_connect(world.serial(started["id"])) as ws:
        assert _closure(ws) == (code, reason)
    # A stopped board cannot be flashed or fed; it can be forgotten.
    refused = api.post(f"{world.base}/{started['id']}/flash", json={}, headers=world.headers())
    assert (
        refused.status_code == 409 and refused.json()["detail"]["code"] == "virtual_board_stopped"
    )
    assert api.delete(f"{world.base}/{started['id']}", headers=world.headers()).status_code == 204


def test_garbled_line_from_the_board_ends_the_session(
    api: TestClient, world: World, use_limits
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits()
    started = _start(api, world)
    vb = manager.find(world.project_id, started["id"])
    assert vb is not None and vb.qemu_pid is not None
    with api.websocket_connect(world.serial(started["id"])) as ws:
        ws.send_text("info")
        _line(ws)
        # Line noise straight onto the UART (the socket refuses such bytes from a browser):
        # the firmware echoes the unknown word in its ERR line, which is then not ASCII.
        session = vb._session
        assert session is not None
        session.send_bytes(b"\xff\xfe\x01\n")
        code, reason = _closure(ws)
    assert code == 1011 and "garbled serial line" in reason, (code, reason)
    assert not _alive(vb.qemu_pid)
    assert manager.running_count() == 0


def test_serial_socket_checks_who_connects(
    api: TestClient, world: World, use_limits, make_person
) -> None:  # type: ignore[no-untyped-def]
    use_limits()
    started = _start(api, world)
    path = f"{world.base}/{started['id']}/serial"
    outsider = make_person("outsider").headers["Authorization"].split(" ", 1)[1]
    cases = {
        path: "authentication required",
        f"{path}?token=tsp_not-a-real-token": "invalid or revoked",
        f"{path}?token={outsider}": "not found",
        f"{path}?token={world.token('viewer')}": "editor role",
        f"{world.base}/0123456789ab/serial?token={world.token()}": "not found",
    }
    for url, message in cases.items():
        with api.websocket_connect(url) as ws:
            code, reason = _closure(ws)
        assert code == 1008 and message in reason, (url, code, reason)

    # The browser's way: the session cookie from logging in, same origin only.
    owner = world.people["owner"]
    login = api.post(
        "/api/auth/login", json={"username": owner.username, "password": owner.password}
    )
    assert login.status_code == 200, login.text
    with api.websocket_connect(path, headers={"origin": "http://evil.example"}) as ws:
        assert _closure(ws) == (1008, "cross-origin WebSocket refused")
    with api.websocket_connect(path, headers={"origin": "http://testserver"}) as ws:
        ws.send_text("info")
        assert json.loads(_line(ws))["model"] == "echo-a"
        ws.send_text("bad\x00line")
        assert _closure(ws)[0] == 1007
    api.cookies.clear()

    # REST: viewers may look, not start; outsiders do not see the project.
    viewer = world.headers("viewer")
    assert api.get(world.base, headers=viewer).status_code == 200
    denied = api.post(world.base, json={"board_id": BOARD}, headers=viewer)
    assert denied.status_code == 403
    hidden = api.get(world.base, headers={"Authorization": f"Bearer {outsider}"})
    assert hidden.status_code == 404


def test_an_image_that_does_not_boot_is_refused_and_a_flashed_board_keeps_its_old_one(
    api: TestClient, world: World, use_limits, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits()
    broken_elf = tmp_path / "firmware.elf"
    broken_elf.write_bytes(b"\x7fELF but not really")
    broken = _add_firmware_deployment(world.project_id, world.people["owner"].id, broken_elf, BOARD)
    refused = api.post(
        world.base, json={"board_id": BOARD, "deployment_id": broken}, headers=world.headers()
    )
    assert refused.status_code == 502, refused.text
    assert "did not start" in refused.json()["detail"]["message"]
    assert manager.running_count() == 0

    started = _start(api, world)
    pid = _pid(manager, world, started["id"])
    flashed = api.post(
        f"{world.base}/{started['id']}/flash", json={"deployment_id": broken},
        headers=world.headers(),
    )  # fmt: skip
    assert flashed.status_code == 502
    assert "old one keeps running" in flashed.json()["detail"]["message"]
    shown = api.get(f"{world.base}/{started['id']}", headers=world.headers()).json()
    assert shown["state"] == "running" and shown["info"]["model"] == "echo-a"
    assert _pid(manager, world, started["id"]) == pid and _alive(pid)


def test_start_refusals_name_the_problem(
    api: TestClient, world: World, use_limits, make_project
) -> None:  # type: ignore[no-untyped-def]
    manager = use_limits()
    m4 = world.deployments["echo-a"]
    cases = [
        ({"board_id": "virtual-cortex-m3", "deployment_id": m4}, 400, "wrong_board"),
        ({"board_id": "virtual-cortex-m3"}, 409, "firmware_deployment_required"),
        ({"board_id": "no-such-board"}, 400, "unknown_board"),
        ({"board_id": "raspberry-pi-pico"}, 400, "not_a_virtual_board"),
        ({"board_id": BOARD, "deployment_id": 987654}, 404, "deployment_not_found"),
    ]
    for body, status, code in cases:
        answer = api.post(world.base, json=body, headers=world.headers())
        assert (answer.status_code, answer.json()["detail"]["code"]) == (status, code), body
    # Another project's deployment is not found from this one.
    other_id, other_people = make_project()
    foreign = api.post(
        f"/api/projects/{other_id}/virtual-boards", json={"board_id": BOARD, "deployment_id": m4},
        headers=other_people["owner"].headers,
    )  # fmt: skip
    assert foreign.status_code == 404
    assert manager.running_count() == 0


_API_PROCESS = """
import sys, time
from pathlib import Path
from backend.devices.virtual import VirtualBoardLimits, VirtualBoardManager
from workers.boards import get_board
manager = VirtualBoardManager(VirtualBoardLimits())
for _ in range(2):
    board = manager.start(board=get_board(sys.argv[1]), project_id=1, elf=Path(sys.argv[2]),
                          deployment_id=None, started_by_id=None)
    print(board.qemu_pid, flush=True)
time.sleep(60)
"""


def test_a_killed_api_process_leaves_no_qemu(firmware: dict[str, Path], tmp_path: Path) -> None:
    """SIGKILL gives no chance to clean up: the parent-death signal must end QEMU."""
    api_process = subprocess.Popen(
        [sys.executable, "-c", _API_PROCESS, BOARD, str(firmware["echo-a"])],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its session directories stay behind
    )  # fmt: skip
    try:
        assert api_process.stdout is not None
        pids = [int(api_process.stdout.readline()) for _ in range(2)]
        assert all(_alive(pid) for pid in pids)
    finally:
        api_process.kill()
        api_process.wait(10)
    assert _wait_for(lambda: not any(_alive(pid) for pid in pids), 5), pids
