"""Routes for a project's samples: upload, list, read, plot, play, edit, crop, split, trash,
rebalance, duplicates, dataset versions, export and import."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import func, select
from starlette.responses import Response

from backend.core.blobs import get_blob_store
from backend.core.deps import MAX_ID, Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.core.downloads import blob_download
from backend.core.errors import bad_request, not_found
from backend.datasets import editing, reading, service, undo, versions
from backend.datasets.models import Category, DatasetVersion, Sample
from backend.datasets.schemas import (
    BulkIn,
    BulkResult,
    CropIn,
    DatasetSummary,
    DuplicateGroup,
    PlotValues,
    PreviousState,
    PurgeIn,
    RawValues,
    RebalancePlan,
    RebalanceResult,
    RevertIn,
    SampleEdit,
    SampleOut,
    SamplePage,
    SensorOut,
    SplitIn,
    UploadResult,
    VersionCreate,
    VersionDetail,
    VersionOut,
)
from backend.datasets.uploads import (
    FORM_MAX_FILES,
    IncomingFile,
    check_file_count,
    ingest,
    limited_chunks,
    status_of,
)
from backend.jobs import service as jobs
from backend.jobs.schemas import JobOut
from backend.projects import service as projects

router = APIRouter(prefix="/api/projects/{project_id}", tags=["datasets"])

CategoryChoice = Literal["training", "testing", "anomaly", "split"]


def _metadata(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise bad_request(
            "invalid_metadata", "metadata must be a JSON object", field="metadata"
        ) from None
    if not isinstance(value, dict):
        raise bad_request("invalid_metadata", "metadata must be a JSON object", field="metadata")
    return {str(k): str(v) for k, v in value.items()}


@router.post(
    "/samples/upload",
    openapi_extra=access("project:editor"),
    responses={201: {"model": UploadResult}, 207: {"model": UploadResult}},
    form_limits={"max_files": FORM_MAX_FILES},
)
def upload_samples(
    ctx: ProjectEditor,
    db: SessionDep,
    files: Annotated[list[UploadFile], File(description="JSON, CBOR, CSV or WAV files")],
    label: Annotated[str | None, Form()] = None,
    category: Annotated[CategoryChoice, Form()] = "split",
    csv_irregular: Annotated[Literal["reject", "resample"], Form()] = "reject",
    disallow_duplicates: Annotated[bool, Form()] = False,
    metadata: Annotated[str | None, Form(description="JSON object of strings")] = None,
) -> JSONResponse:
    """Uploads many files; the answer says per file what was stored and what was refused."""
    check_file_count(len(files))
    options = service.UploadOptions(
        label=label if label not in (None, "") else None,
        category=category,
        disallow_duplicates=disallow_duplicates,
        metadata=_metadata(metadata),
    )
    if label is not None and label != "" and not label.strip():
        raise bad_request("invalid_label", "the label is empty or only whitespace", field="label")
    result = ingest(
        db=db, project=ctx.project, options=options, user=ctx.user, csv_irregular=csv_irregular,
        files=[IncomingFile(f.filename or "", f.content_type, f.file) for f in files],
    )  # fmt: skip
    return JSONResponse(status_code=status_of(result), content=result.model_dump(mode="json"))


@router.get("/samples", openapi_extra=access("project:viewer"))
def list_samples(
    ctx: ProjectViewer,
    db: SessionDep,
    label: str | None = None,
    unlabelled: bool = False,
    category: Category | None = None,
    enabled: bool | None = None,
    search: str | None = Query(None, max_length=200),
    device: str | None = None,
    trashed: bool = False,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> SamplePage:
    """The project's samples, filtered, newest first."""
    where = service.SampleFilter(
        label=label, category=category, enabled=enabled, search=search, device=device,
        trashed=trashed, unlabelled=unlabelled,
    )  # fmt: skip
    statement = service.query(project_id=ctx.project.id, where=where)
    total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.scalars(statement.order_by(Sample.id.desc()).limit(limit).offset(offset))
    return SamplePage(
        items=[SampleOut.of(s) for s in rows], total=total, limit=limit, offset=offset
    )


@router.get("/samples/summary", openapi_extra=access("project:viewer"))
def dataset_summary(ctx: ProjectViewer, db: SessionDep) -> DatasetSummary:
    """Label counts and total duration per category."""
    return DatasetSummary.model_validate(service.summary(db=db, project_id=ctx.project.id))


@router.get("/samples/duplicates", openapi_extra=access("project:viewer"))
def list_duplicates(ctx: ProjectViewer, db: SessionDep) -> list[DuplicateGroup]:
    """Samples uploaded from identical files (same sha256)."""
    return [
        DuplicateGroup(sha256=group[0].sha256, samples=[SampleOut.of(s) for s in group])
        for group in service.duplicates(db=db, project_id=ctx.project.id)
    ]


@router.post("/samples/bulk", openapi_extra=access("project:editor"))
def bulk_edit(body: BulkIn, ctx: ProjectEditor, db: SessionDep) -> BulkResult:
    """Relabels, moves, enables, disables, trashes or restores many samples at once."""
    return editing.commit_sample_change(db, lambda: _bulk_change(body, ctx, db))


def _bulk_change(body: BulkIn, ctx: ProjectEditor, db: SessionDep) -> BulkResult:
    samples = list(
        db.scalars(
            select(Sample).where(
                Sample.project_id == ctx.project.id, Sample.id.in_(body.sample_ids)
            )
        )
    )
    missing = set(body.sample_ids) - {s.id for s in samples}
    if missing:
        raise not_found(f"samples {sorted(missing)[:10]}", code="sample_not_found")
    live = [s for s in samples if s.deleted_at is None]
    changed = 0
    previous: list[PreviousState] = []
    if body.action == "relabel":
        if body.label is None:
            raise bad_request("label_required", "relabel needs a label", field="label")
        label = body.label
        previous = undo.apply(
            db=db, samples=live,
            change=lambda sample: editing.edit(db=db, sample=sample, user=ctx.user, label=label),
        )  # fmt: skip
        changed = len(previous)
    elif body.action == "move":
        if body.category is None:
            raise bad_request("category_required", "move needs a category", field="category")
        category = body.category.value
        previous = undo.apply(
            db=db, samples=live, change=lambda sample: setattr(sample, "category", category)
        )
        changed = len(previous)
    elif body.action in ("enable", "disable"):
        enabled = body.action == "enable"
        previous = undo.apply(
            db=db, samples=live, change=lambda sample: setattr(sample, "enabled", enabled)
        )
        changed = len(previous)
    elif body.action == "delete":
        changed = service.trash(samples=live)
    elif body.action == "crop":
        if body.start_ms is None or body.end_ms is None:
            raise bad_request("range_required", "crop needs start_ms and end_ms", field="end_ms")
        for sample in live:
            editing.crop(
                db=db, sample=sample, user=ctx.user, start_ms=body.start_ms, end_ms=body.end_ms,
                version=None,
            )  # fmt: skip
        changed = len(live)
    elif body.action == "split":
        if body.window_ms is None:
            raise bad_request("window_required", "split needs window_ms", field="window_ms")
        for sample in live:
            editing.split(
                db=db, sample=sample, user=ctx.user, window_ms=body.window_ms,
                stride_ms=body.stride_ms,
            )  # fmt: skip
        changed = len(live)
    else:
        changed = service.restore(samples=samples)
    projects.record(
        db=db, project_id=ctx.project.id, action=f"samples.{body.action}", user=ctx.user,
        count=changed,
    )  # fmt: skip
    return BulkResult(action=body.action, changed=changed, previous=previous)


@router.post("/samples/purge", openapi_extra=access("project:editor"))
def purge_trash(body: PurgeIn, ctx: ProjectEditor, db: SessionDep) -> BulkResult:
    """Deletes trashed samples for good."""

    def change() -> int:
        count = service.purge(db=db, project_id=ctx.project.id, sample_ids=body.sample_ids)
        projects.record(
            db=db, project_id=ctx.project.id, action="samples.purged", user=ctx.user, count=count
        )
        return count

    return BulkResult(action="purge", changed=editing.commit_sample_change(db, change))


@router.get("/samples/rebalance", openapi_extra=access("project:viewer"))
def rebalance_plan(ctx: ProjectViewer, db: SessionDep) -> RebalancePlan:
    """What a rebalance would move now, to ask before moving it."""
    return RebalancePlan(**service.rebalance_plan(db=db, project_id=ctx.project.id))


@router.post("/samples/rebalance", openapi_extra=access("project:editor"))
def rebalance(ctx: ProjectEditor, db: SessionDep) -> RebalanceResult:
    """Splits every label 80/20 between training and testing, stable by hash."""
    result = editing.commit_sample_change(
        db, lambda: service.rebalance(db=db, project_id=ctx.project.id, user=ctx.user)
    )
    return RebalanceResult(**result)


@router.post("/samples/revert", openapi_extra=access("project:editor"))
def revert_samples(body: RevertIn, ctx: ProjectEditor, db: SessionDep) -> BulkResult:
    """Undoes a relabel, move, enable, disable or rebalance: puts back the states its answer
    listed, all or none (409 when one of those samples changed since)."""
    changed = editing.commit_sample_change(
        db,
        lambda: undo.revert(db=db, project_id=ctx.project.id, states=body.samples, user=ctx.user),
    )
    return BulkResult(action="revert", changed=changed)


@router.get("/samples/{sample_id}", openapi_extra=access("project:viewer"))
def read_sample(sample_id: Id, ctx: ProjectViewer, db: SessionDep) -> SampleOut:
    """One sample's description (including one in the trash)."""
    return SampleOut.of(
        service.get(db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True)
    )


@router.get("/samples/{sample_id}/plot", openapi_extra=access("project:viewer"))
def plot_sample(
    sample_id: Id,
    ctx: ProjectViewer,
    db: SessionDep,
    max_points: int = Query(2000, ge=10, le=reading.MAX_PLOT_POINTS),
) -> PlotValues:
    """At most `max_points` rows for plotting: min and max per bucket and axis, so peaks survive."""
    sample = service.get(
        db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True
    )
    return PlotValues.model_validate(reading.plot_values(sample, max_points))


@router.get(
    "/samples/{sample_id}/values",
    openapi_extra=access("project:viewer"),
    response_class=StreamingResponse,
    responses={200: {"model": RawValues, "content": {"application/json": {}}}},
)
def raw_values(
    sample_id: Id,
    ctx: ProjectViewer,
    db: SessionDep,
    start: int = Query(0, ge=0, description="the first row to return"),
    count: int | None = Query(
        None,
        ge=1,
        le=reading.MAX_PAGE_VALUES,
        description=f"rows to return; a page holds at most {reading.MAX_PAGE_VALUES} values "
        "(rows x axes), and the most that fit when omitted",
    ),
) -> StreamingResponse:
    """A page of the sample's values (time x axes), streamed; follow `next_start` for the rest."""
    sample = service.get(
        db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True
    )
    page = reading.values_page(sample, start, count)
    page.blob.check()
    head = {
        "sample_id": sample.id,
        "interval_ms": sample.interval_ms,
        "sensors": [SensorOut(**s).model_dump() for s in sample.sensors],
    }
    return StreamingResponse(page.json_chunks(head), media_type="application/json")


@router.get(
    "/samples/{sample_id}/audio",
    openapi_extra=access("project:viewer"),
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def sample_audio(sample_id: Id, ctx: ProjectViewer, db: SessionDep) -> StreamingResponse:
    """The sample's first axis as a 16-bit WAV the browser can play, streamed."""
    sample = service.get(
        db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True
    )
    audio = reading.AudioStream(reading.ValuesBlob.of(sample))
    audio.blob.check()
    return StreamingResponse(
        audio.chunks(), media_type="audio/wav", headers={"content-length": str(audio.size)}
    )


@router.get(
    "/samples/{sample_id}/original",
    openapi_extra=access("project:viewer"),
    response_class=StreamingResponse,
    responses={307: {"description": "A redirect to a short-lived download URL of the blob store"}},
)
def sample_original(sample_id: Id, ctx: ProjectViewer, db: SessionDep) -> Response:
    """The file exactly as it was uploaded, streamed from the blob store."""
    sample = service.get(
        db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True
    )
    return blob_download(sample.original_key, filename=sample.original_name)


@router.patch("/samples/{sample_id}", openapi_extra=access("project:editor"))
def edit_sample(sample_id: Id, body: SampleEdit, ctx: ProjectEditor, db: SessionDep) -> SampleOut:
    """Renames, relabels, moves, enables or disables a sample."""

    def change() -> Sample:
        sample = service.get(db=db, project_id=ctx.project.id, sample_id=sample_id)
        return editing.edit(
            db=db, sample=sample, user=ctx.user, version=body.version, name=body.name,
            label=body.label, clear_label=body.clear_label, category=body.category,
            enabled=body.enabled, metadata=body.metadata,
        )  # fmt: skip

    return SampleOut.of(editing.commit_sample_change(db, change))


@router.post("/samples/{sample_id}/crop", openapi_extra=access("project:editor"))
def crop_sample(sample_id: Id, body: CropIn, ctx: ProjectEditor, db: SessionDep) -> SampleOut:
    """Keeps only a time range of the sample."""

    def change() -> Sample:
        sample = service.get(db=db, project_id=ctx.project.id, sample_id=sample_id)
        return editing.crop(
            db=db, sample=sample, user=ctx.user, start_ms=body.start_ms, end_ms=body.end_ms,
            version=body.version,
        )  # fmt: skip

    return SampleOut.of(editing.commit_sample_change(db, change))


@router.post("/samples/{sample_id}/split", openapi_extra=access("project:editor"))
def split_sample(
    sample_id: Id, body: SplitIn, ctx: ProjectEditor, db: SessionDep
) -> list[SampleOut]:
    """Cuts a sample into windows, each a new sample; the original goes to the trash."""

    def change() -> list[Sample]:
        sample = service.get(db=db, project_id=ctx.project.id, sample_id=sample_id)
        return editing.split(
            db=db, sample=sample, user=ctx.user, window_ms=body.window_ms, stride_ms=body.stride_ms
        )

    return [SampleOut.of(p) for p in editing.commit_sample_change(db, change)]


@router.delete("/samples/{sample_id}", openapi_extra=access("project:editor"))
def trash_sample(sample_id: Id, ctx: ProjectEditor, db: SessionDep) -> SampleOut:
    """Moves a sample to the trash (restorable for 30 days)."""

    def change() -> Sample:
        sample = service.get(db=db, project_id=ctx.project.id, sample_id=sample_id)
        service.trash(samples=[sample])
        projects.record(
            db=db, project_id=ctx.project.id, action="samples.delete", user=ctx.user, count=1
        )
        return sample

    return SampleOut.of(editing.commit_sample_change(db, change))


@router.post("/samples/{sample_id}/restore", openapi_extra=access("project:editor"))
def restore_sample(sample_id: Id, ctx: ProjectEditor, db: SessionDep) -> SampleOut:
    """Takes a sample back out of the trash."""

    def change() -> Sample:
        sample = service.get(
            db=db, project_id=ctx.project.id, sample_id=sample_id, include_deleted=True
        )
        service.restore(samples=[sample])
        return sample

    return SampleOut.of(editing.commit_sample_change(db, change))


@router.get("/dataset-versions", openapi_extra=access("project:viewer"))
def list_versions(ctx: ProjectViewer, db: SessionDep) -> list[VersionOut]:
    """Named snapshots of the dataset, newest first."""
    rows = db.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.project_id == ctx.project.id)
        .order_by(DatasetVersion.id.desc())
    )
    return [VersionOut.model_validate(v) for v in rows]


@router.post("/dataset-versions", status_code=201, openapi_extra=access("project:editor"))
def create_version(body: VersionCreate, ctx: ProjectEditor, db: SessionDep) -> VersionDetail:
    """Snapshots which samples, labels, categories and values the dataset holds now."""
    version = versions.create_version(
        db=db, project_id=ctx.project.id, name=body.name, user=ctx.user
    )
    db.commit()
    return VersionDetail.model_validate(version)


@router.get("/dataset-versions/{version_id}", openapi_extra=access("project:viewer"))
def read_version(version_id: Id, ctx: ProjectViewer, db: SessionDep) -> VersionDetail:
    """One dataset version with its entries."""
    version = db.get(DatasetVersion, version_id)
    if version is None or version.project_id != ctx.project.id:
        raise not_found("dataset version")
    return VersionDetail.model_validate(version)


@router.post("/dataset/export", status_code=202, openapi_extra=access("project:editor"))
def export_dataset(ctx: ProjectEditor, db: SessionDep) -> JobOut:
    """Starts a job writing the dataset as a zip (one Edge Impulse JSON per sample + manifest)."""
    from backend.jobs.views import job_out

    job = jobs.create(
        db=db, project_id=ctx.project.id, kind="dataset.export", params={}, user=ctx.user
    )
    return job_out(db, job)


@router.post("/dataset/import", status_code=202, openapi_extra=access("project:editor"))
def import_dataset(
    ctx: ProjectEditor,
    db: SessionDep,
    file: Annotated[UploadFile, File(description="a dataset zip, as exported")],
) -> JobOut:
    """Starts a job importing a dataset zip; nothing is stored unless every file in it is valid."""
    from backend.jobs.views import job_out

    name = file.filename or "dataset.zip"
    if not name.lower().endswith(".zip"):
        raise bad_request(
            "not_a_zip", f"{name!r}: a dataset import takes a .zip file", field="file"
        )
    key = f"projects/{ctx.project.id}/imports/{uuid.uuid4().hex}.zip"
    file.file.seek(0)
    get_blob_store().put(key, limited_chunks(file.file, name))
    job = jobs.create(
        db=db, project_id=ctx.project.id, kind="dataset.import",
        params={"blob_key": key, "filename": name}, user=ctx.user,
    )  # fmt: skip
    return job_out(db, job)
