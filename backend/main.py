"""The FastAPI application: routers, error shapes, the browser app and background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

import backend.datasets.transfer  # noqa: F401  (registers the dataset jobs)
import backend.deployments.jobs  # noqa: F401  (registers the build job)
import backend.impulses.jobs  # noqa: F401  (registers the feature and training jobs)
import backend.projects.export  # noqa: F401  (registers the export task)
from backend.accounts.views import router as accounts_router
from backend.core.config import get_settings
from backend.core.db import get_sessionmaker
from backend.core.deps import access
from backend.datasets import service as datasets_service
from backend.datasets.ingestion import router as ingestion_router
from backend.datasets.views import router as datasets_router
from backend.deployments.views import projects_router as deployments_router
from backend.deployments.views import router as boards_router
from backend.devices.views import router as devices_router
from backend.impulses.views import projects_router as impulses_router
from backend.impulses.views import router as blocks_router
from backend.jobs import service as jobs_service
from backend.jobs.views import router as jobs_router
from backend.projects.views import router as projects_router

logger = logging.getLogger("tinystudio")

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
REAP_EVERY_SECONDS = 30.0

PLACEHOLDER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>TinyStudio</title></head><body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>TinyStudio</h1><p>The API is running. The browser app has not been built yet:
run <code>./tinystudio up</code> from the source tree to build it.</p>
<p>API documentation: <a href="/api/docs">/api/docs</a></p></body></html>"""


def _operation_id(route: APIRoute) -> str:
    return route.name


def _reap_once() -> None:
    """Upkeep: recover jobs whose worker stopped; empty trash older than 30 days."""
    with get_sessionmaker()() as db:
        count = jobs_service.reap_stale(db=db)
        if count:
            logger.warning("recovered %d jobs whose worker stopped", count)
        purged = datasets_service.purge_expired(db=db)
        if purged:
            logger.info("purged %d samples that were in the trash for 30 days", purged)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async def reaper() -> None:
        while True:
            try:
                await run_in_threadpool(_reap_once)
            except Exception:  # upkeep must never take the API down
                logger.exception("job reaper failed")
            await asyncio.sleep(REAP_EVERY_SECONDS)

    task = asyncio.create_task(reaper())
    try:
        yield
    finally:
        task.cancel()


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid request"


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="TinyStudio",
        version="0.1.0",
        description="Self-hosted TinyML studio: data, impulses, training, compilation, devices.",
        generate_unique_id_function=_operation_id,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(
            status_code=422,
            content={
                "detail": {
                    "code": "validation_error",
                    "message": _validation_message(errors),
                    "errors": errors,
                }
            },
        )

    @app.get("/api/health", tags=["meta"], openapi_extra=access("public"))
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok"}

    app.include_router(accounts_router)
    app.include_router(projects_router)
    app.include_router(jobs_router)
    app.include_router(datasets_router)
    app.include_router(blocks_router)
    app.include_router(impulses_router)
    app.include_router(boards_router)
    app.include_router(deployments_router)
    app.include_router(devices_router)
    app.include_router(ingestion_router)

    @app.get("/{path:path}", include_in_schema=False)
    def browser_app(path: str) -> Any:
        if path.startswith("api/"):
            return JSONResponse(
                status_code=404,
                content={"detail": {"code": "not_found", "message": f"no API route /{path}"}},
            )
        if FRONTEND_DIST.is_dir():
            candidate = (FRONTEND_DIST / path).resolve()
            if path and candidate.is_file() and FRONTEND_DIST.resolve() in candidate.parents:
                return FileResponse(candidate)
            return FileResponse(FRONTEND_DIST / "index.html")
        return HTMLResponse(PLACEHOLDER_PAGE)

    return app
