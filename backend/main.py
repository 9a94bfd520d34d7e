"""The FastAPI application: routers, error shapes, the browser app and background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import backend.byo.jobs  # noqa: F401  (registers the uploaded models' jobs)
import backend.byo.runs  # noqa: F401  (registers the uploaded models' evaluation job)
import backend.datasets.transfer  # noqa: F401  (registers the dataset jobs)
import backend.deployments.jobs  # noqa: F401  (registers the build job)
import backend.impulses.jobs  # noqa: F401  (registers the feature and training jobs)
import backend.projects.export  # noqa: F401  (registers the export task)
import backend.tuner.jobs  # noqa: F401  (registers the tuner's trial and measurement jobs)
from backend.accounts.views import router as accounts_router
from backend.byo.views import compiler_router
from backend.byo.views import router as models_router
from backend.core import gc, openapi
from backend.core.config import get_settings
from backend.core.db import get_sessionmaker
from backend.core.deps import access
from backend.core.http import SecurityHeaders
from backend.core.static import mount_browser_app
from backend.core.unhandled import CatchAll, http_error, out_of_range
from backend.datasets import service as datasets_service
from backend.datasets.ingestion import router as ingestion_router
from backend.datasets.views import router as datasets_router
from backend.deployments.views import projects_router as deployments_router
from backend.deployments.views import router as boards_router
from backend.devices.views import router as devices_router
from backend.fleet import service as fleet_service
from backend.fleet.views import projects_router as fleet_projects_router
from backend.fleet.views import router as fleet_router
from backend.impulses.views import projects_router as impulses_router
from backend.impulses.views import router as blocks_router
from backend.jobs import service as jobs_service
from backend.jobs.views import router as jobs_router
from backend.projects.views import router as projects_router
from backend.tuner import search as tuner_search
from backend.tuner.views import router as tuner_router

logger = logging.getLogger("tinystudio")

REAP_EVERY_SECONDS = 30.0


def _operation_id(route: APIRoute) -> str:
    return route.name


def _reap_once() -> None:
    """Upkeep: recover jobs whose worker stopped and move on the tuner runs waiting on them;
    empty trash older than 30 days; delete fleet telemetry past its retention; once a day,
    remove blobs no row refers to."""
    with get_sessionmaker()() as db:
        count = jobs_service.reap_stale(db=db)
        if count:
            logger.warning("recovered %d jobs whose worker stopped", count)
        tuner_search.advance_running(db=db)
        purged = datasets_service.purge_expired(db=db)
        if purged:
            logger.info("purged %d samples that were in the trash for 30 days", purged)
        expired = fleet_service.purge_telemetry(db=db)
        if expired:
            logger.info("deleted %d telemetry items past their retention", expired)
    gc.collect_if_due()


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
    # Added first, so it sits innermost: its 500 still gets the other middlewares' headers.
    app.add_middleware(CatchAll)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
    app.exception_handler(HTTPException)(http_error)
    openapi.install(app)
    app.add_middleware(SecurityHeaders)
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
    app.include_router(fleet_router)
    app.include_router(fleet_projects_router)
    app.include_router(tuner_router)
    app.include_router(models_router)
    app.include_router(compiler_router)
    app.include_router(ingestion_router)

    mount_browser_app(app)

    return app
