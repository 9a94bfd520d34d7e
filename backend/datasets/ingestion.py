"""Edge Impulse's ingestion API (paths, headers, answers), so existing uploaders and firmware
can send data to TinyStudio unchanged; authenticated by a project API key."""

from __future__ import annotations

import json
import tempfile
from typing import Annotated, BinaryIO, Literal, cast
from urllib.parse import unquote

from fastapi import APIRouter, File, Header, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from backend.core.db import get_sessionmaker
from backend.core.deps import DeviceDep, SessionDep, access
from backend.datasets import service
from backend.datasets.uploads import (
    FORM_MAX_FILES,
    IncomingFile,
    file_count_refusal,
    ingest,
    status_of,
)

router = APIRouter(prefix="/api", tags=["ingestion"])

IngestCategory = Literal["training", "testing", "anomaly", "split"]
SPOOL_BYTES = 1 << 20


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _options(
    label: str | None,
    no_label: str | None,
    file_name: str | None,
    disallow_duplicates: str | None,
    add_date_id: str | None,
    metadata: str | None,
    category: str,
) -> service.UploadOptions:
    # Edge Impulse's tools percent-encode these headers (encodeURIComponent).
    label = unquote(label) if label is not None else None
    file_name = unquote(file_name) if file_name is not None else None
    parsed_metadata: dict[str, str] = {}
    if metadata:
        try:
            value = json.loads(metadata)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ValueError("the x-metadata header must be a JSON object")
        parsed_metadata = {str(k): str(v) for k, v in value.items()}
    return service.UploadOptions(
        label=label,
        no_label=_flag(no_label),
        category=category,
        name=file_name,
        add_date_id=_flag(add_date_id),
        disallow_duplicates=_flag(disallow_duplicates),
        metadata=parsed_metadata,
    )


def _refusal(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(status_code=status, content={"success": False, "error": message})


@router.post(
    "/{category}/files",
    openapi_extra=access("apikey"),
    form_limits={"max_files": FORM_MAX_FILES},
)
def ingest_files(
    category: IngestCategory,
    device: DeviceDep,
    db: SessionDep,
    data: Annotated[list[UploadFile], File(description="one or more files")],
    x_label: Annotated[str | None, Header()] = None,
    x_no_label: Annotated[str | None, Header()] = None,
    x_disallow_duplicates: Annotated[str | None, Header()] = None,
    x_add_date_id: Annotated[str | None, Header()] = None,
    x_metadata: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Edge Impulse's `/api/{category}/files`: multipart field `data`, many files."""
    try:
        options = _options(
            x_label, x_no_label, None, x_disallow_duplicates, x_add_date_id, x_metadata, category
        )
    except ValueError as exc:
        return _refusal(str(exc))
    too_many = file_count_refusal(len(data))
    if too_many is not None:
        return _refusal(too_many, 413)
    result = ingest(
        db=db, project=device.project, options=options, api_key=device.api_key,
        files=[IncomingFile(f.filename or "", f.content_type, f.file) for f in data],
    )  # fmt: skip
    return JSONResponse(
        status_code=200 if result.stored and not result.refused else status_of(result),
        content={
            "success": result.refused == 0,
            "files": [
                {
                    "success": f.stored,
                    "fileName": f.filename,
                    **({"sampleId": f.sample.id, "sampleName": f.sample.name} if f.sample else {}),
                    **({"error": f.error} if f.error else {}),
                }
                for f in result.files
            ],
            **({"error": next(f.error for f in result.files if f.error)} if result.refused else {}),
        },
    )


@router.post(
    "/{category}/data",
    openapi_extra=access("apikey"),
    response_class=PlainTextResponse,
)
async def ingest_data(
    category: IngestCategory,
    request: Request,
    device: DeviceDep,
    x_file_name: Annotated[str | None, Header()] = None,
    x_label: Annotated[str | None, Header()] = None,
    x_no_label: Annotated[str | None, Header()] = None,
    x_disallow_duplicates: Annotated[str | None, Header()] = None,
    x_add_date_id: Annotated[str | None, Header()] = None,
    x_metadata: Annotated[str | None, Header()] = None,
) -> PlainTextResponse:
    """Edge Impulse's `/api/{category}/data`: one JSON or CBOR document (or CSV/WAV) as the body.

    Answers the stored sample's name as plain text, like Edge Impulse's ingestion service."""
    try:
        options = _options(
            x_label, x_no_label, x_file_name, x_disallow_duplicates, x_add_date_id, x_metadata,
            category,
        )  # fmt: skip
    except ValueError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    limit = service.upload_limits().max_file_bytes
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            body.close()
            return PlainTextResponse(
                f"the body is larger than the limit of {limit} bytes", status_code=413
            )
        body.write(chunk)
    body.seek(0)
    stream = cast(BinaryIO, body)
    filename = x_file_name or _default_name(request.headers.get("content-type"))
    project_id, key_id = device.project.id, device.api_key.id

    def store() -> tuple[int, str]:
        from backend.projects.models import ApiKey, Project

        with get_sessionmaker()() as session:
            project = session.get(Project, project_id)
            if project is None:
                return 404, "project not found"
            result = ingest(
                db=session, project=project, options=options,
                api_key=session.get(ApiKey, key_id),
                files=[IncomingFile(filename, request.headers.get("content-type"), stream)],
            )  # fmt: skip
        outcome = result.files[0]
        if outcome.stored and outcome.sample:
            return 200, outcome.sample.name
        return outcome.status, outcome.error or "refused"

    try:
        status, text = await run_in_threadpool(store)
    finally:
        body.close()
    return PlainTextResponse(text, status_code=status)


def _default_name(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    extension = {"application/cbor": "cbor", "text/csv": "csv", "audio/wav": "wav"}.get(
        media, "json"
    )
    return f"sample.{extension}"
