"""Routes for models brought from elsewhere: upload, read, profile on every board, C library."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from backend.byo import runs, service
from backend.byo.schemas import ModelRunIn, UploadedModelOut
from backend.core.deps import CurrentUser, Id, ProjectEditor, ProjectViewer, SessionDep, access
from backend.impulses.schemas import TrainingRunOut
from backend.impulses.views import run_out

router = APIRouter(prefix="/api/projects/{project_id}", tags=["models"])
compiler_router = APIRouter(prefix="/api/compiler", tags=["models"])


@compiler_router.get("/supported-ops", openapi_extra=access("user"))
def supported_ops(_user: CurrentUser) -> list[str]:
    """The TFLite operators the compiler generates C for (or folds away at compile time)."""
    from workers.compiler.codegen import supported_ops as ops

    return ops()


@router.post("/models", status_code=202, openapi_extra=access("project:editor"))
def upload_model(
    ctx: ProjectEditor,
    db: SessionDep,
    file: Annotated[
        UploadFile,
        File(description="an int8 or float .tflite, a .keras or .h5, or a zipped SavedModel"),
    ],
    representative: Annotated[
        UploadFile | None,
        File(description="a .npy of inputs shaped [n, ...] to quantize a float model with"),
    ] = None,
    impulse_id: Annotated[
        int | None,
        Form(description="or quantize it with this impulse's features of the training samples"),
    ] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> UploadedModelOut:
    """Stores a model trained elsewhere and starts its import: a float model is quantized to
    int8 with representative inputs (an uploaded .npy, or the project's training windows
    through an impulse's DSP), then the model is described (inputs, outputs, ops, parameters,
    MACs, arena)."""
    row = service.upload(
        db=db, project_id=ctx.project.id, user=ctx.user, filename=file.filename or "",
        stream=file.file, name=name, impulse_id=impulse_id,
        representative=(
            (representative.filename or "", representative.file) if representative else None
        ),
    )  # fmt: skip
    return service.out(db, row)


@router.get("/models", openapi_extra=access("project:viewer"))
def list_models(ctx: ProjectViewer, db: SessionDep) -> list[UploadedModelOut]:
    """The project's uploaded models, newest first."""
    return [service.out(db, row) for row in service.list_models(db=db, project_id=ctx.project.id)]


@router.get("/models/{model_id}", openapi_extra=access("project:viewer"))
def get_model(model_id: Id, ctx: ProjectViewer, db: SessionDep) -> UploadedModelOut:
    return service.out(db, service.get(db=db, project_id=ctx.project.id, model_id=model_id))


@router.post("/models/{model_id}/profile", status_code=202, openapi_extra=access("project:editor"))
def profile_model(model_id: Id, ctx: ProjectEditor, db: SessionDep) -> UploadedModelOut:
    """Profiles the int8 model on every board of the catalog: one build per core, run on the
    core's virtual board (arena, painted stack, code, weights, instructions), each board's
    latency from its clock, and whether it fits."""
    row = service.get(db=db, project_id=ctx.project.id, model_id=model_id)
    service.start_job(db=db, row=row, kind="model.profile", user=ctx.user)
    return service.out(db, row)


@router.post(
    "/models/{model_id}/c-library", status_code=202, openapi_extra=access("project:editor")
)
def build_library(model_id: Id, ctx: ProjectEditor, db: SessionDep) -> UploadedModelOut:
    """Builds the model's C library (its C, the kernels and a README) as a zip to download."""
    row = service.get(db=db, project_id=ctx.project.id, model_id=model_id)
    service.start_job(db=db, row=row, kind="model.library", user=ctx.user)
    return service.out(db, row)


@router.post("/models/{model_id}/runs", status_code=202, openapi_extra=access("project:editor"))
def run_in_impulse(
    model_id: Id, body: ModelRunIn, ctx: ProjectEditor, db: SessionDep
) -> TrainingRunOut:
    """Makes the model an impulse's model: a training run of the impulse whose job scores the
    model (float32 and int8) on the project's windows through the impulse's DSP. The run then
    deploys, is tested on the device and classifies live like a run the studio trained."""
    row = service.get(db=db, project_id=ctx.project.id, model_id=model_id)
    run = runs.start_run(
        db=db, row=row, impulse_id=body.impulse_id, labels=body.labels, user=ctx.user
    )
    return run_out(db, run)


@router.delete("/models/{model_id}", status_code=204, openapi_extra=access("project:editor"))
def delete_model(model_id: Id, ctx: ProjectEditor, db: SessionDep) -> Response:
    row = service.get(db=db, project_id=ctx.project.id, model_id=model_id)
    service.delete(db=db, row=row, user=ctx.user)
    return Response(status_code=204)
