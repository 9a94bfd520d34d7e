"""The OpenAPI schema as the API really answers: its error bodies and the statuses of each route.

FastAPI documents a 422 body it never sends (`HTTPValidationError`) and none of the errors a
route's dependencies raise; this fills both in from each route's access rule and dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from backend.core.db import get_db

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MULTIPART = "multipart/form-data"

DESCRIPTIONS = {
    400: "Bad request: the input is well-formed but cannot be applied",
    401: "Not authenticated, or the credentials are invalid",
    403: "Authenticated, but not allowed: a role, the site admin or the CSRF header is missing",
    404: "Not found, or not visible to the caller",
    409: "Conflict with the current state, e.g. a name already taken or a newer version",
    413: "Upload too large",
    415: "Upload of a type TinyStudio does not read",
    422: "Validation error: the request does not match the schema",
    429: "Too many attempts: wait for the Retry-After header's seconds",
    503: "Temporarily unavailable, e.g. the database is busy: try again",
}

# Statuses no access rule or dependency tells, by operation id: what the route's code answers.
ROUTE_STATUSES: dict[str, tuple[int, ...]] = {
    "register": (400, 409),
    "login": (401, 429),
}


class IngestionRefusal(BaseModel):
    """Edge Impulse's ingestion answer when files are refused: what its clients read."""

    model_config = ConfigDict(extra="allow")

    success: bool
    error: str
    files: list[dict[str, Any]] | None = None


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# Upload routes answer a refusal with what happened to each file, as their clients read it
# (Edge Impulse's own shapes on its ingestion routes); checks before reading answer ApiError.
UPLOAD_REFUSALS: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = {
    "upload_samples": (
        (400, 409, 413, 415),
        {"application/json": {"schema": {"anyOf": [_ref("UploadResult"), _ref("ApiError")]}}},
    ),
    "ingest_files": (
        (207, 400, 409, 413, 415),
        {"application/json": {"schema": {"anyOf": [_ref("IngestionRefusal"), _ref("ApiError")]}}},
    ),
    "ingest_data": (
        (400, 404, 409, 413, 415),
        {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": _ref("ApiError")},
        },
    ),
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message naming the problem, maybe more fields."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, machine-readable, e.g. `project_not_found`")
    message: str
    request_id: str | None = Field(
        default=None, description="on a 500: the request's id, to find the error in the log"
    )


class ApiError(BaseModel):
    """The body of every error answer."""

    detail: ErrorDetail


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: `path`, `query` or `body`, then the field")
    msg: str
    type: str


class ValidationDetail(BaseModel):
    code: Literal["validation_error"]
    message: str = Field(description="every issue in one line")
    errors: list[ValidationIssue]


class ApiValidationError(BaseModel):
    """The body of a 422 answer: each field that does not match the schema."""

    detail: ValidationDetail


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def route_statuses(route: APIRoute, access: str) -> set[int]:
    """The error statuses `route` can answer besides 422, from its rule and dependencies."""
    unsafe = bool((route.methods or set()) & UNSAFE_METHODS)
    statuses = set(ROUTE_STATUSES.get(route.name, ()))
    if access != "public":
        statuses.add(401)
    if access == "admin" or (access == "user" and unsafe):  # unsafe: the CSRF check
        statuses.add(403)
    if access.startswith("project:"):
        statuses.add(404)
        if unsafe or access != "project:viewer":
            statuses.add(403)
    if route.param_convertors:  # a path naming a row that may not exist
        statuses.add(404)
    if unsafe and access != "public":
        statuses |= {400, 409}
    if get_db in set(_calls(route.dependant)):
        statuses.add(503)
    return statuses


def _error_response(status: int, *schemas: str) -> dict[str, Any]:
    refs = [_ref(name) for name in schemas]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    content = {"application/json": {"schema": schema}}
    return {"description": DESCRIPTIONS[status], "content": content}


def _add_models(components: dict[str, Any]) -> None:
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's unused 422 body
        components.pop(unused, None)
    for model in (ApiError, ApiValidationError, IngestionRefusal):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema


def _document(schema: dict[str, Any], app: FastAPI) -> None:
    routes = {
        (method.lower(), context.path_format): context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.original_route.include_in_schema
        for method in context.methods or ()
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            route = routes.get((method, path))
            if route is None:
                continue
            responses = operation.setdefault("responses", {})
            content = operation.get("requestBody", {}).get("content", {})
            statuses = route_statuses(route, str(operation.get("x-access", "public")))
            if content:
                statuses.add(400)  # a body that cannot be parsed
            if MULTIPART in content:
                statuses |= {413, 415}
            if any(p.get("in") == "query" for p in operation.get("parameters", ())):
                statuses.add(400)  # a value the schema allows that the data cannot serve
            if "422" in responses:
                # Schema mismatches, and the few checks only code can make (a weak password).
                responses["422"] = _error_response(
                    422, ApiValidationError.__name__, ApiError.__name__
                )
            for status in sorted(statuses):
                responses.setdefault(str(status), _error_response(status, ApiError.__name__))
            refused, refusal = UPLOAD_REFUSALS.get(route.name, ((), {}))
            for status in refused:
                description = DESCRIPTIONS.get(status, "Some files stored, some refused")
                responses[str(status)] = {"description": description, "content": refusal}


def install(app: FastAPI) -> None:
    """Makes `app.openapi()` answer the schema with real error bodies and statuses."""

    plain = app.openapi
    documented: set[int] = set()

    def openapi() -> dict[str, Any]:
        schema = plain()  # FastAPI's own, cached until the routes change
        if id(schema) not in documented:
            _add_models(schema.setdefault("components", {}).setdefault("schemas", {}))
            _document(schema, app)
            documented.add(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
