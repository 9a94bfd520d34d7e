"""Errors the API answers with: a status, a stable code and a message naming the problem."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


class ApiError(HTTPException):
    """An HTTP error whose body is `{"detail": {"code", "message", ...}}`."""

    def __init__(self, status_code: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(status_code, detail={"code": code, "message": message, **extra})


def not_found(what: str, code: str | None = None) -> ApiError:
    return ApiError(404, code or f"{what.replace(' ', '_')}_not_found", f"{what} not found")


def bad_request(code: str, message: str, **extra: Any) -> ApiError:
    return ApiError(400, code, message, **extra)


def conflict(code: str, message: str, **extra: Any) -> ApiError:
    return ApiError(409, code, message, **extra)


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(403, code, message)


def unauthorized(message: str = "authentication required") -> ApiError:
    return ApiError(401, "not_authenticated", message)
