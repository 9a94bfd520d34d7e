"""Answers to errors no route handled: always the API's JSON error shape, never a plain-text 500."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from backend.core.http import HttpMiddleware

logger = logging.getLogger("tinystudio")

# PostgreSQL's SQLSTATE for a number beyond its column's type, e.g. an id ≥ 2**31 in INTEGER.
NUMERIC_VALUE_OUT_OF_RANGE = "22003"


def _request_id(scope: Scope) -> str | None:
    """The id a request-id middleware gave this request, if one did."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return str(value) if value else None


def internal_error(scope: Scope) -> JSONResponse:
    """The 500 answer: what failed is in the log, under the request id when there is one."""
    detail = {
        "code": "internal_error",
        "message": "the server failed to answer this request; the error is in its log",
    }
    request_id = _request_id(scope)
    if request_id:
        detail["request_id"] = request_id
    return JSONResponse(status_code=500, content={"detail": detail})


class CatchAll(HttpMiddleware):
    """ASGI middleware answering any unhandled error with a logged JSON 500.

    Starlette's own catch-all handler re-raises after answering, which makes the server close the
    connection; answering here keeps the client's keep-alive connection usable.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            if started:  # half a response is out: only the server can end it, by closing
                raise
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await internal_error(scope)(scope, receive, send)


def _beyond_integer_range(exc: Exception) -> bool:
    if isinstance(exc, OverflowError):
        return "SQLite INTEGER" in str(exc)
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DataError) and getattr(orig, "sqlstate", None) == (
        NUMERIC_VALUE_OUT_OF_RANGE
    )


async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """Handler for OverflowError and DataError: an id beyond the database's integers is a 404.

    Path ids are validated before they reach the database; this catches any other number that
    slipped through, and answers every other such error as the catch-all would.
    """
    if not _beyond_integer_range(exc):
        logger.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return internal_error(request.scope)
    logger.info("number beyond the database's range in %s %s", request.method, request.url.path)
    return JSONResponse(
        status_code=404,
        content={
            "detail": {
                "code": "not_found",
                "message": "not found: a number in the request is beyond the database's range",
            }
        },
    )


async def http_error(_request: Request, exc: HTTPException) -> Response:
    """FastAPI's HTTP error answer, with the framework's own plain-text details (a 405, a body
    that is not JSON) put in the API's shape too."""
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail: Any = exc.detail
    if not isinstance(detail, dict):
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        detail = {"code": code, "message": str(detail)}
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
