"""Virtual board routes: start, list, flash, replay and stop boards; their serial WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.accounts.models import AccessToken, BrowserSession, User
from backend.core.blobs import get_blob_store
from backend.core.config import get_settings
from backend.core.db import get_sessionmaker, utcnow
from backend.core.deps import (
    ACCESS_TOKEN_PREFIX,
    SESSION_COOKIE,
    Id,
    ProjectEditor,
    ProjectViewer,
    SessionDep,
    access,
)
from backend.core.errors import ApiError, bad_request, conflict, not_found
from backend.core.security import hash_token
from backend.datasets import service as datasets
from backend.deployments.models import Deployment
from backend.devices import board_errors, serial_lines, virtual, virtual_board
from backend.devices.schemas import FlashIn, ReplayIn, ReplayOut, VirtualBoardIn, VirtualBoardOut
from backend.jobs.models import Artifact, Job, JobStatus
from backend.projects import service as projects
from backend.projects.models import Membership, Role
from workers.boards import Board, BoardNotFoundError, get_board

# WebSocket close codes of the serial bridge (RFC 6455), beside those of backend.devices.virtual.
CLOSE_POLICY = 1008  # not authenticated, not a member, no such board
CLOSE_UNSUPPORTED = 1003  # a binary frame
CLOSE_INVALID = 1007  # a frame that is not printable ASCII
CLOSE_TOO_BIG = 1009
MAX_FRAME_CHARS = 1024 * 1024
# After a board stops, its listeners get the closure from the board's thread within this time.
CLOSURE_WAIT_SECONDS = 5.0


@contextlib.asynccontextmanager
async def _stop_boards_on_shutdown(_app: FastAPI) -> AsyncIterator[None]:
    # Merged into the application's lifespan by include_router: no QEMU outlives the API.
    yield
    await run_in_threadpool(virtual.shutdown_board_manager)


router = APIRouter(
    prefix="/api/projects/{project_id}", tags=["devices"], lifespan=_stop_boards_on_shutdown
)

BoardManagerDep = Annotated[virtual.VirtualBoardManager, Depends(virtual.get_board_manager)]


def _out(vb: virtual_board.VirtualBoard, limits: virtual.VirtualBoardLimits) -> VirtualBoardOut:
    return VirtualBoardOut(
        id=vb.id, project_id=vb.project_id, board_id=vb.board.id, board_name=vb.board.name,
        qemu_machine=vb.board.qemu_machine or "", state=vb.state,
        deployment_id=vb.deployment_id, started_at=vb.started_at, flashed_at=vb.flashed_at,
        stopped_at=vb.stopped_at, stop_reason=vb.stop_reason,
        expires_at=vb.started_at + timedelta(seconds=limits.max_seconds),
        idle_timeout_seconds=limits.idle_seconds, connections=vb.listener_count, info=vb.info,
        serial_url=f"/api/projects/{vb.project_id}/virtual-boards/{vb.id}/serial",
    )  # fmt: skip


def _virtual_board(board_id: str) -> Board:
    try:
        board = get_board(board_id)
    except BoardNotFoundError as exc:
        raise bad_request("unknown_board", str(exc.args[0]), field="board_id") from None
    if board.kind != "virtual":
        raise bad_request(
            "not_a_virtual_board",
            f"{board.name} is a real board: connect it over Web Serial instead",
            field="board_id",
        )
    return board


def _firmware_image(
    db: Session, project_id: int, board: Board, deployment_id: int | None
) -> tuple[Deployment, str]:
    """The deployment to run on `board` and the blob key of its firmware ELF."""
    if deployment_id is None:
        deployment = db.scalar(
            select(Deployment)
            .join(Job, Job.id == Deployment.job_id)
            .where(
                Deployment.project_id == project_id,
                Deployment.target == "firmware",
                Deployment.board_id == board.id,
                Job.status == JobStatus.succeeded,
            )
            .order_by(Deployment.id.desc())
            .limit(1)
        )
        if deployment is None:
            raise conflict(
                "firmware_deployment_required",
                f"no firmware has been built for {board.name} ({board.id}) in this project yet: "
                f"deploy a training run with target firmware and board {board.id}, then start "
                "the virtual board with that deployment",
            )
    else:
        deployment = db.get(Deployment, deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise not_found("deployment")
        if deployment.target != "firmware":
            raise bad_request(
                "firmware_deployment_required",
                f"deployment {deployment.id} is a {deployment.target}; a virtual board runs a "
                "firmware deployment",
                field="deployment_id",
            )
        if deployment.board_id != board.id:
            raise bad_request(
                "wrong_board",
                f"deployment {deployment.id} was built for {deployment.board_id}, not {board.id}",
                field="deployment_id",
            )
        job = db.get(Job, deployment.job_id) if deployment.job_id else None
        if job is None or job.status != JobStatus.succeeded:
            status = job.status if job else "missing"
            raise conflict(
                "deployment_not_ready",
                f"the firmware build of deployment {deployment.id} is {status}, not succeeded",
            )
    artifact_id = ((deployment.report or {}).get("artifacts") or {}).get("firmware.elf")
    artifact = db.get(Artifact, artifact_id) if isinstance(artifact_id, int) else None
    if artifact is None and deployment.job_id is not None:
        artifact = db.scalar(
            select(Artifact)
            .where(
                Artifact.job_id == deployment.job_id,
                or_(Artifact.name == "firmware.elf", Artifact.kind == "firmware-elf"),
            )
            .order_by(Artifact.id.desc())
            .limit(1)
        )
    if artifact is None or artifact.project_id != project_id:
        raise conflict(
            "firmware_missing", f"deployment {deployment.id} has no firmware.elf artifact"
        )
    if not get_blob_store().exists(artifact.blob_key):
        raise conflict(
            "firmware_missing", f"the firmware image of deployment {deployment.id} is gone"
        )
    return deployment, artifact.blob_key


def _find(
    manager: virtual.VirtualBoardManager, project_id: int, virtual_board_id: str
) -> virtual_board.VirtualBoard:
    found = manager.find(project_id, virtual_board_id)
    if found is None:
        raise not_found("virtual board")
    return found


def _board_error(exc: board_errors.VirtualBoardError) -> ApiError:
    if isinstance(exc, board_errors.BoardStopped):
        return conflict("virtual_board_stopped", f"the virtual board is not running: {exc}")
    if isinstance(exc, board_errors.BoardBusy):
        return conflict("virtual_board_busy", str(exc))
    return ApiError(502, "virtual_board_failed", str(exc))


@router.post("/virtual-boards", status_code=201, openapi_extra=access("project:editor"))
def start_virtual_board(
    body: VirtualBoardIn, ctx: ProjectEditor, db: SessionDep, manager: BoardManagerDep
) -> VirtualBoardOut:
    """Starts a virtual board (QEMU) running a firmware deployment built for it.

    Answers once the firmware has answered `info`; 429 when the studio runs as many virtual
    boards as it allows. Connect to `serial_url` within the grace period, or the board stops.
    """
    board = _virtual_board(body.board_id)
    deployment, elf_key = _firmware_image(db, ctx.project.id, board, body.deployment_id)
    try:
        # QEMU reads the image while it boots, and start() returns once it has booted.
        with get_blob_store().local_copy(elf_key) as elf:
            vb = manager.start(
                board=board, project_id=ctx.project.id, elf=elf, deployment_id=deployment.id,
                started_by_id=ctx.user.id,
            )  # fmt: skip
    except board_errors.BoardLimitReached as exc:
        raise ApiError(
            429, "virtual_board_limit", str(exc), limit=manager.limits.max_boards
        ) from None
    except board_errors.VirtualBoardError as exc:
        raise _board_error(exc) from None
    projects.record(
        db=db, project_id=ctx.project.id, action="virtual_board.started", user=ctx.user,
        virtual_board_id=vb.id, board_id=board.id, deployment_id=deployment.id,
    )  # fmt: skip
    db.commit()
    return _out(vb, manager.limits)


@router.get("/virtual-boards", openapi_extra=access("project:viewer"))
def list_virtual_boards(ctx: ProjectViewer, manager: BoardManagerDep) -> list[VirtualBoardOut]:
    """The project's virtual boards: running ones and those stopped in the last minutes."""
    return [_out(vb, manager.limits) for vb in manager.for_project(ctx.project.id)]


@router.get("/virtual-boards/{virtual_board_id}", openapi_extra=access("project:viewer"))
def read_virtual_board(
    virtual_board_id: str, ctx: ProjectViewer, manager: BoardManagerDep
) -> VirtualBoardOut:
    """One virtual board, with the firmware's `info` and, once stopped, why it stopped."""
    return _out(_find(manager, ctx.project.id, virtual_board_id), manager.limits)


@router.delete(
    "/virtual-boards/{virtual_board_id}", status_code=204, openapi_extra=access("project:editor")
)
def stop_virtual_board(virtual_board_id: str, ctx: ProjectEditor, manager: BoardManagerDep) -> None:
    """Stops the virtual board (its QEMU process has ended when this answers) and forgets it."""
    vb = _find(manager, ctx.project.id, virtual_board_id)
    manager.remove(vb, f"stopped by {ctx.user.username}")


@router.post("/virtual-boards/{virtual_board_id}/flash", openapi_extra=access("project:editor"))
def flash_virtual_board(
    virtual_board_id: str,
    body: FlashIn,
    ctx: ProjectEditor,
    db: SessionDep,
    manager: BoardManagerDep,
) -> VirtualBoardOut:
    """Flashes a firmware deployment: the board's QEMU restarts with the new image.

    Connected WebSockets stay open and see the new firmware's `OK tinystudio ready` line. If the
    new image does not start, the old one keeps running and the answer says why (502).
    """
    vb = _find(manager, ctx.project.id, virtual_board_id)
    deployment, elf_key = _firmware_image(db, ctx.project.id, vb.board, body.deployment_id)
    try:
        with get_blob_store().local_copy(elf_key) as elf:
            vb.flash(elf, deployment.id)
    except board_errors.VirtualBoardError as exc:
        raise _board_error(exc) from None
    return _out(vb, manager.limits)


@router.post("/virtual-boards/{virtual_board_id}/replay", openapi_extra=access("project:editor"))
def replay_on_virtual_board(
    virtual_board_id: str,
    body: ReplayIn,
    ctx: ProjectEditor,
    db: SessionDep,
    manager: BoardManagerDep,
) -> ReplayOut:
    """Loads a sample (or given values) into the board's sensor replay buffer, so `stream`
    plays it at its real rate, like a real board's sensor.

    The values go up the UART with `replay begin AXES HZ`, one reading per line and
    `replay end`; a signal longer than the board's buffer is cut (`truncated`). 409 while the
    board streams (send `stop` first).
    """
    vb = _find(manager, ctx.project.id, virtual_board_id)
    if body.sample_id is not None:
        sample = datasets.get(db=db, project_id=ctx.project.id, sample_id=body.sample_id)
        values = datasets.load_values(sample)
        if body.hz is not None:
            hz = body.hz
        elif sample.interval_ms > 0:
            hz = 1000.0 / sample.interval_ms
        else:
            raise bad_request("no_rate", f"sample {sample.id} has no interval: give hz", field="hz")
    else:
        assert body.values is not None and body.hz is not None  # checked by ReplayIn
        values = np.asarray(body.values, dtype=np.float32)
        hz = body.hz
    try:
        result = vb.replay(values, hz)
    except board_errors.VirtualBoardError as exc:
        raise _board_error(exc) from None
    return ReplayOut(
        sample_id=body.sample_id, axes=result.axes, hz=result.hz, readings=result.readings,
        sample_readings=int(values.shape[0]), truncated=result.readings < values.shape[0],
        answer=result.answer,
    )  # fmt: skip


# --- the serial WebSocket ------------------------------------------------------------------


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: cross-site request forgery needs a browser
    if origin in get_settings().allowed_origins:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


def _websocket_user(websocket: WebSocket, db: Session) -> User | str:
    """The caller from a personal access token (`token` query parameter or bearer header) or
    the browser session cookie; a refusal message otherwise."""
    now = utcnow()
    token = websocket.query_params.get("token")
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if not token and scheme.lower() == "bearer":
        token = value.strip()
    if token:
        if not token.startswith(ACCESS_TOKEN_PREFIX + "_"):
            return "the token must be a personal access token"
        row = db.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            return "invalid or revoked access token"
        if row.expires_at is not None and row.expires_at <= now:
            return "access token expired"
        return row.user
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if not cookie:
        return "authentication required: log in, or pass a personal access token as ?token="
    if not _same_origin(websocket):
        return "cross-origin WebSocket refused"
    session = db.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(cookie))
    )
    if session is None or session.expires_at <= now:
        return "session expired; log in again"
    user = db.get(User, session.user_id)
    return user if user is not None else "authentication required"


def _serial_refusal(websocket: WebSocket, project_id: int) -> str | None:
    """Why the caller may not use a project's serial lines, or None if they may (editor+)."""
    with get_sessionmaker()() as db:
        user = _websocket_user(websocket, db)
        if isinstance(user, str):
            return user
        membership = db.scalar(
            select(Membership).where(
                Membership.project_id == project_id, Membership.user_id == user.id
            )
        )
        if membership is None:
            return "virtual board not found"  # outsiders cannot tell a project exists
        if Role(membership.role).rank < Role.editor.rank:
            return f"the serial line needs the {Role.editor} role or higher"
    return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # RFC 6455 limits a close reason to 123 bytes.
    reason = (
        reason if len(reason.encode()) <= 123 else reason.encode()[:120].decode(errors="ignore")
    )
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code, reason)


async def _board_to_browser(websocket: WebSocket, listener: serial_lines.SerialListener) -> None:
    while True:
        item = await listener.queue.get()
        if isinstance(item, serial_lines.Closure):
            await _close(websocket, item.code, item.reason)
            return
        await websocket.send_text(item)


async def _browser_to_board(websocket: WebSocket, vb: virtual_board.VirtualBoard) -> str:
    """Forwards frames until the browser leaves ("left") or the board stops ("stopped")."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return "left"
        text = message.get("text")
        if text is None:
            await _close(websocket, CLOSE_UNSUPPORTED, "send text frames, one protocol line each")
            return "left"
        if len(text) > MAX_FRAME_CHARS:
            await _close(websocket, CLOSE_TOO_BIG, f"frames hold at most {MAX_FRAME_CHARS} chars")
            return "left"
        try:
            lines = serial_lines.browser_lines(text)
        except ValueError as exc:
            await _close(websocket, CLOSE_INVALID, str(exc))
            return "left"
        for line in lines:
            try:
                await run_in_threadpool(vb.send_line, line)
            except board_errors.BoardStopped:
                return "stopped"


@router.websocket("/virtual-boards/{virtual_board_id}/serial")
async def virtual_board_serial(
    websocket: WebSocket, project_id: Id, virtual_board_id: str, manager: BoardManagerDep
) -> None:
    """The board's UART as text frames, one protocol line per frame, both ways (project:editor).

    Authenticates with the session cookie or a personal access token (`?token=`); refusals close
    with 1008. A board that stops closes the socket with the reason: 1001 when stopped (by a
    user, a limit or shutdown), 1011 when QEMU crashed or sent a garbled line.
    """
    await websocket.accept()
    refusal = await run_in_threadpool(_serial_refusal, websocket, project_id)
    if refusal is not None:
        await _close(websocket, CLOSE_POLICY, refusal)
        return
    vb = manager.find(project_id, virtual_board_id)
    if vb is None:
        await _close(websocket, CLOSE_POLICY, "virtual board not found")
        return
    listener = serial_lines.SerialListener(asyncio.get_running_loop())
    try:
        vb.attach(listener)
    except board_errors.BoardStopped as exc:
        ending = vb.ending or serial_lines.Closure(serial_lines.CLOSE_GOING_AWAY, str(exc))
        await _close(websocket, ending.code, ending.reason)
        return
    outgoing = asyncio.create_task(_board_to_browser(websocket, listener))
    incoming = asyncio.create_task(_browser_to_board(websocket, vb))
    try:
        done, _ = await asyncio.wait({outgoing, incoming}, return_when=asyncio.FIRST_COMPLETED)
        board_stopped = (
            incoming in done
            and not incoming.cancelled()
            and incoming.exception() is None
            and incoming.result() == "stopped"
        )
        if board_stopped:
            # The board's thread is closing every listener with the reason: pass it on.
            try:
                await asyncio.wait_for(asyncio.shield(outgoing), CLOSURE_WAIT_SECONDS)
            except TimeoutError:
                await _close(websocket, serial_lines.CLOSE_BOARD_FAILED, "the board stopped")
    finally:
        # Detach before any await: the handler itself may be cancelled while it cleans up.
        vb.detach(listener)
        for task in (outgoing, incoming):
            task.cancel()
        await asyncio.wait({outgoing, incoming})
        for task in (outgoing, incoming):
            if not task.cancelled():
                task.exception()  # a browser gone mid-send is normal: not worth a log line
