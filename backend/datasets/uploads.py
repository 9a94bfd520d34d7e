"""Turning uploaded files into samples, one file at a time, with a per-file answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.config import MAX_FILES_CEILING, get_settings
from backend.core.errors import ApiError
from backend.datasets import service
from backend.datasets.formats import UploadError, parse_upload, safe_filename
from backend.datasets.schemas import SampleOut, UploadFileResult, UploadResult
from backend.projects import service as projects
from backend.projects.models import ApiKey, Project


@dataclass
class IncomingFile:
    filename: str
    content_type: str | None
    stream: BinaryIO


def ingest(
    *,
    db: Session,
    project: Project,
    files: list[IncomingFile],
    options: service.UploadOptions,
    user: User | None = None,
    api_key: ApiKey | None = None,
    csv_irregular: Literal["reject", "resample"] = "reject",
) -> UploadResult:
    """Parses and stores each file on its own: a refused file stores nothing, others go on."""
    limits = service.upload_limits()
    results: list[UploadFileResult] = []
    for incoming in files:
        try:
            filename = safe_filename(incoming.filename or "")
            parsed = parse_upload(
                filename,
                incoming.content_type,
                incoming.stream,
                hmac_key=project.hmac_key.encode(),
                limits=limits,
                csv_irregular=csv_irregular,
            )
            sample = service.store_parsed(
                db=db, project=project, filename=filename, parsed=parsed, options=options,
                source=incoming.stream, user=user, api_key=api_key,
            )  # fmt: skip
            db.commit()
            results.append(
                UploadFileResult(
                    filename=filename, stored=True, sample=SampleOut.of(sample), status=201
                )
            )
        except UploadError as exc:
            db.rollback()
            results.append(
                UploadFileResult(
                    filename=exc.filename or incoming.filename,
                    stored=False,
                    error=str(exc),
                    line=exc.line,
                    field=exc.field,
                    status=exc.http_status,
                )  # fmt: skip
            )
    stored = sum(r.stored for r in results)
    if stored:
        projects.record(
            db=db, project_id=project.id, action="samples.uploaded", user=user, api_key=api_key,
            stored=stored, refused=len(results) - stored,
        )  # fmt: skip
        db.commit()
    return UploadResult(stored=stored, refused=len(results) - stored, files=results)


# Multipart parsing allows one file past the ceiling, so check_file_count answers every excess.
FORM_MAX_FILES = MAX_FILES_CEILING + 1


def file_count_refusal(count: int) -> str | None:
    """Why an upload of `count` files is refused whole, or None when the count is allowed."""
    limit = get_settings().max_files_per_upload
    if count <= limit:
        return None
    return (
        f"{count} files is more than the limit of {limit} files per upload "
        "(TINYSTUDIO_MAX_FILES_PER_UPLOAD)"
    )


def check_file_count(count: int) -> None:
    """Refuses an upload of more files than TINYSTUDIO_MAX_FILES_PER_UPLOAD, before storing any."""
    refusal = file_count_refusal(count)
    if refusal is not None:
        raise ApiError(413, "too_many_files", refusal, field="files")


def limited_chunks(stream: BinaryIO, filename: str) -> Iterator[bytes]:
    """The stream in chunks, refusing it once it passes TINYSTUDIO_MAX_UPLOAD_BYTES."""
    limit = get_settings().max_upload_bytes
    size = 0
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413,
                "upload_too_large",
                f"{filename!r} is larger than the limit of {limit} bytes "
                "(TINYSTUDIO_MAX_UPLOAD_BYTES)",
                field="file",
            )
        yield chunk


def status_of(result: UploadResult) -> int:
    """201 when every file was stored, 207 when some were, else the first refusal's 4xx."""
    if result.refused == 0 and result.stored:
        return 201
    if result.stored:
        return 207
    return result.files[0].status if result.files else 400
