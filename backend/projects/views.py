"""Routes for projects, members, invitations, API and HMAC keys and the activity log."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core.deps import (
    MAX_ID,
    CurrentUser,
    DeviceDep,
    Id,
    ProjectAdmin,
    ProjectEditor,
    ProjectOwner,
    ProjectViewer,
    SessionDep,
    access,
)
from backend.jobs import service as jobs
from backend.jobs.schemas import JobOut
from backend.projects import overview, service
from backend.projects.models import ApiKey, Invitation, InvitationStatus, Project, Role
from backend.projects.schemas import (
    ActivityOut,
    ActivityPage,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    DeviceProjectOut,
    HmacKeyOut,
    InvitationCreate,
    InvitationOut,
    MemberOut,
    ProjectCreate,
    ProjectOut,
    ProjectOverview,
    ProjectUpdate,
    RoleChange,
    TransferIn,
)

router = APIRouter(prefix="/api", tags=["projects"])


def _project_out(db: Session, project: Project, role: Role) -> ProjectOut:
    owner = service.owner_of(db=db, project_id=project.id)
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description,
        created_at=project.created_at,
        updated_at=project.updated_at,
        role=role,
        owner=owner.username,
    )


def _invitation_out(db: Session, row: Invitation) -> InvitationOut:
    project = db.get(Project, row.project_id)
    inviter = db.get(User, row.invited_by_id) if row.invited_by_id else None
    # Only what the inviter typed, so an invitation never shows whose account it reached.
    return InvitationOut(
        id=row.id,
        project_id=row.project_id,
        project_name=project.name if project else "",
        invitee_username=row.invitee_username,
        invitee_email=row.invitee_email,
        role=Role(row.role),
        status=row.status,
        invited_by=inviter.username if inviter else None,
        created_at=row.created_at,
        responded_at=row.responded_at,
    )


@router.get("/projects", openapi_extra=access("user"))
def list_projects(user: CurrentUser, db: SessionDep) -> list[ProjectOut]:
    """The projects the caller is a member of, most recently changed first."""
    return [_project_out(db, p, role) for p, role in service.list_for_user(db=db, user=user)]


@router.post("/projects", status_code=status.HTTP_201_CREATED, openapi_extra=access("user"))
def create_project(body: ProjectCreate, user: CurrentUser, db: SessionDep) -> ProjectOut:
    """Creates a project owned by the caller."""
    project = service.create(db=db, owner=user, name=body.name, description=body.description)
    db.commit()
    return _project_out(db, project, Role.owner)


@router.get("/projects/{project_id}", openapi_extra=access("project:viewer"))
def read_project(ctx: ProjectViewer, db: SessionDep) -> ProjectOut:
    """One project."""
    return _project_out(db, ctx.project, ctx.role)


@router.get("/projects/{project_id}/overview", openapi_extra=access("project:viewer"))
def project_overview(ctx: ProjectViewer, db: SessionDep) -> ProjectOverview:
    """Counts of the project's samples, impulses, training runs, builds and runs on a board."""
    return overview.overview(db=db, project_id=ctx.project.id)


@router.patch("/projects/{project_id}", openapi_extra=access("project:admin"))
def update_project(body: ProjectUpdate, ctx: ProjectAdmin, db: SessionDep) -> ProjectOut:
    """Renames or re-describes a project."""
    service.update(
        db=db, project=ctx.project, user=ctx.user, name=body.name, description=body.description
    )
    db.commit()
    return _project_out(db, ctx.project, ctx.role)


@router.delete("/projects/{project_id}", status_code=204, openapi_extra=access("project:owner"))
def delete_project(
    ctx: ProjectOwner,
    db: SessionDep,
    confirm_name: str = Query(description="the project's exact name, to confirm"),
) -> None:
    """Deletes a project and all it holds; needs the project's name as confirmation."""
    service.delete(db=db, project=ctx.project, confirm_name=confirm_name)
    db.commit()


@router.get("/projects/{project_id}/members", openapi_extra=access("project:viewer"))
def list_members(ctx: ProjectViewer, db: SessionDep) -> list[MemberOut]:
    """The project's members and their roles; their emails only to admins and the owner."""
    admin = ctx.at_least(Role.admin)
    return [
        MemberOut(
            user_id=u.id,
            username=u.username,
            full_name=u.full_name,
            email=u.email if admin else None,
            role=Role(m.role),
            joined_at=m.created_at,
        )  # fmt: skip
        for m, u in service.members(db=db, project_id=ctx.project.id)
    ]


@router.patch("/projects/{project_id}/members/{user_id}", openapi_extra=access("project:admin"))
def change_member_role(
    user_id: Id, body: RoleChange, ctx: ProjectAdmin, db: SessionDep
) -> list[MemberOut]:
    """Changes a member's role (never to or from owner: that is a transfer)."""
    service.change_role(
        db=db, project=ctx.project, actor=ctx.user, actor_role=ctx.role,
        user_id=user_id, role=body.role,
    )  # fmt: skip
    db.commit()
    return list_members(ctx, db)


@router.delete(
    "/projects/{project_id}/members/{user_id}",
    status_code=204,
    openapi_extra=access("project:admin"),
)
def remove_member(user_id: Id, ctx: ProjectAdmin, db: SessionDep) -> None:
    """Removes a member from the project."""
    service.remove_member(
        db=db, project=ctx.project, actor=ctx.user, actor_role=ctx.role, user_id=user_id
    )
    db.commit()


@router.post(
    "/projects/{project_id}/leave", status_code=204, openapi_extra=access("project:viewer")
)
def leave_project(ctx: ProjectViewer, db: SessionDep) -> None:
    """Leaves the project (the owner must transfer ownership first)."""
    service.leave(db=db, project=ctx.project, user=ctx.user)
    db.commit()


@router.post("/projects/{project_id}/transfer", openapi_extra=access("project:owner"))
def transfer_ownership(body: TransferIn, ctx: ProjectOwner, db: SessionDep) -> list[MemberOut]:
    """Makes another member the owner; the previous owner becomes an admin."""
    service.transfer(db=db, project=ctx.project, owner=ctx.user, user_id=body.user_id)
    db.commit()
    ctx.role = Role.admin
    return list_members(ctx, db)


@router.get("/projects/{project_id}/invitations", openapi_extra=access("project:admin"))
def list_project_invitations(ctx: ProjectAdmin, db: SessionDep) -> list[InvitationOut]:
    """The project's pending invitations."""
    rows = db.scalars(
        select(Invitation)
        .where(
            Invitation.project_id == ctx.project.id,
            Invitation.status == InvitationStatus.pending,
        )
        .order_by(Invitation.id.desc())
    )
    return [_invitation_out(db, row) for row in rows]


@router.post(
    "/projects/{project_id}/invitations", status_code=201, openapi_extra=access("project:admin")
)
def invite_member(body: InvitationCreate, ctx: ProjectAdmin, db: SessionDep) -> InvitationOut:
    """Invites someone by username or email with a role."""
    row = service.invite(
        db=db, project=ctx.project, actor=ctx.user, actor_role=ctx.role,
        invitee=body.invitee, role=body.role,
    )  # fmt: skip
    db.commit()
    return _invitation_out(db, row)


@router.delete(
    "/projects/{project_id}/invitations/{invitation_id}",
    status_code=204,
    openapi_extra=access("project:admin"),
)
def cancel_invitation(invitation_id: Id, ctx: ProjectAdmin, db: SessionDep) -> None:
    """Withdraws a pending invitation."""
    service.cancel_invitation(
        db=db, project=ctx.project, actor=ctx.user, invitation_id=invitation_id
    )
    db.commit()


@router.get("/users/me/invitations", openapi_extra=access("user"))
def my_invitations(user: CurrentUser, db: SessionDep) -> list[InvitationOut]:
    """Invitations waiting for the caller's answer."""
    rows = db.scalars(
        select(Invitation)
        .where(
            Invitation.invitee_user_id == user.id,
            Invitation.status == InvitationStatus.pending,
        )
        .order_by(Invitation.id.desc())
    )
    return [_invitation_out(db, row) for row in rows]


@router.post("/invitations/{invitation_id}/accept", openapi_extra=access("user"))
def accept_invitation(invitation_id: Id, user: CurrentUser, db: SessionDep) -> InvitationOut:
    """Accepts an invitation: the caller joins the project with the offered role."""
    row = service.respond(db=db, user=user, invitation_id=invitation_id, accept=True)
    db.commit()
    return _invitation_out(db, row)


@router.post("/invitations/{invitation_id}/decline", openapi_extra=access("user"))
def decline_invitation(invitation_id: Id, user: CurrentUser, db: SessionDep) -> InvitationOut:
    """Declines an invitation."""
    row = service.respond(db=db, user=user, invitation_id=invitation_id, accept=False)
    db.commit()
    return _invitation_out(db, row)


@router.get("/projects/{project_id}/api-keys", openapi_extra=access("project:admin"))
def list_api_keys(ctx: ProjectAdmin, db: SessionDep) -> list[ApiKeyOut]:
    """The project's API keys (names and prefixes, never the keys)."""
    rows = db.scalars(
        select(ApiKey).where(ApiKey.project_id == ctx.project.id).order_by(ApiKey.id.desc())
    )
    return [ApiKeyOut.model_validate(row) for row in rows]


@router.post(
    "/projects/{project_id}/api-keys", status_code=201, openapi_extra=access("project:admin")
)
def create_api_key(body: ApiKeyCreate, ctx: ProjectAdmin, db: SessionDep) -> ApiKeyCreated:
    """Creates an API key for ingestion and devices; the key is shown only in this answer."""
    row, key = service.create_api_key(db=db, project=ctx.project, actor=ctx.user, name=body.name)
    db.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete(
    "/projects/{project_id}/api-keys/{key_id}",
    status_code=204,
    openapi_extra=access("project:admin"),
)
def revoke_api_key(key_id: Id, ctx: ProjectAdmin, db: SessionDep) -> None:
    """Revokes an API key; devices using it are refused from now on."""
    service.revoke_api_key(db=db, project=ctx.project, actor=ctx.user, key_id=key_id)
    db.commit()


@router.get("/projects/{project_id}/hmac-key", openapi_extra=access("project:editor"))
def read_hmac_key(ctx: ProjectEditor) -> HmacKeyOut:
    """The key devices sign uploads with (HMAC-SHA256)."""
    return HmacKeyOut(hmac_key=ctx.project.hmac_key)


@router.post("/projects/{project_id}/hmac-key/rotate", openapi_extra=access("project:admin"))
def rotate_hmac_key(ctx: ProjectAdmin, db: SessionDep) -> HmacKeyOut:
    """Replaces the HMAC key; uploads signed with the old one are refused from now on."""
    key = service.rotate_hmac_key(db=db, project=ctx.project, actor=ctx.user)
    db.commit()
    return HmacKeyOut(hmac_key=key)


@router.get("/projects/{project_id}/activity", openapi_extra=access("project:viewer"))
def list_activity(
    ctx: ProjectViewer,
    db: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> ActivityPage:
    """Who did what in the project, newest first."""
    items, total = service.activity(db=db, project_id=ctx.project.id, limit=limit, offset=offset)
    return ActivityPage(
        items=[
            ActivityOut(
                id=e.id,
                action=e.action,
                actor=actor,
                details=e.details or {},
                created_at=e.created_at,
            )  # fmt: skip
            for e, actor in items
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/device/project", openapi_extra=access("apikey"))
def device_project(device: DeviceDep) -> DeviceProjectOut:
    """Which project an API key belongs to: devices and uploaders use it to check their key."""
    return DeviceProjectOut(
        project_id=device.project.id,
        project_name=device.project.name,
        api_key_name=device.api_key.name,
    )


@router.post(
    "/projects/{project_id}/export",
    status_code=202,
    openapi_extra=access("project:editor"),
)
def export_project(ctx: ProjectEditor, db: SessionDep) -> JobOut:
    """Starts a job that exports the project to a zip; follow it under /jobs/{job_id}."""
    from backend.jobs.views import job_out

    job = jobs.create(
        db=db, project_id=ctx.project.id, kind="project.export", params={}, user=ctx.user
    )
    return job_out(db, job)
