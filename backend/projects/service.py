"""Project operations: lifecycle, members and roles, invitations, keys and the activity log."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import User
from backend.core import gc
from backend.core.db import utcnow
from backend.core.errors import bad_request, conflict, forbidden, not_found
from backend.core.security import hash_token, new_token
from backend.projects.models import (
    ActivityEvent,
    ApiKey,
    Invitation,
    InvitationStatus,
    Membership,
    Project,
    Role,
)


def record(
    *,
    db: Session,
    project_id: int,
    action: str,
    user: User | None = None,
    api_key: ApiKey | None = None,
    **details: Any,
) -> None:
    """Adds an entry to the project's activity log (committed with the change it describes)."""
    db.add(
        ActivityEvent(
            project_id=project_id,
            actor_user_id=user.id if user else None,
            actor_api_key_id=api_key.id if api_key else None,
            action=action,
            details=details,
        )
    )


def create(*, db: Session, owner: User, name: str, description: str) -> Project:
    """Creates a project owned by `owner`."""
    project = Project(name=name, description=description, hmac_key=secrets.token_hex(32))
    db.add(project)
    db.flush()
    db.add(Membership(project_id=project.id, user_id=owner.id, role=Role.owner))
    record(db=db, project_id=project.id, action="project.created", user=owner, name=name)
    return project


def owner_of(*, db: Session, project_id: int) -> User:
    return db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id, Membership.role == Role.owner)
    ).one()


def list_for_user(*, db: Session, user: User) -> list[tuple[Project, Role]]:
    rows = db.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user.id)
        .order_by(Project.updated_at.desc(), Project.id.desc())
    )
    return [(project, Role(role)) for project, role in rows]


def update(
    *, db: Session, project: Project, user: User, name: str | None, description: str | None
) -> None:
    changes: dict[str, Any] = {}
    if name is not None and name != project.name:
        changes["name"] = {"from": project.name, "to": name}
        project.name = name
    if description is not None and description != project.description:
        changes["description"] = True
        project.description = description
    if changes:
        project.updated_at = utcnow()
        record(db=db, project_id=project.id, action="project.updated", user=user, **changes)


def delete(*, db: Session, project: Project, confirm_name: str) -> None:
    """Deletes a project and everything in it, once its exact name is given as confirmation."""
    if confirm_name != project.name:
        raise bad_request(
            "confirmation_mismatch",
            "type the project's exact name to confirm deleting it",
            field="confirm_name",
        )
    db.delete(project)
    # Every blob of a project lives under its folder: samples, features, job artifacts, imports.
    gc.folder_released(db, f"projects/{project.id}/")


def membership(*, db: Session, project_id: int, user_id: int) -> Membership | None:
    return db.scalar(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user_id)
    )


def members(*, db: Session, project_id: int) -> list[tuple[Membership, User]]:
    rows = db.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id)
        .order_by(Membership.id)
    )
    return [(m, u) for m, u in rows]


def _member_or_404(*, db: Session, project_id: int, user_id: int) -> Membership:
    row = membership(db=db, project_id=project_id, user_id=user_id)
    if row is None:
        raise not_found("member")
    return row


def change_role(
    *, db: Session, project: Project, actor: User, actor_role: Role, user_id: int, role: Role
) -> Membership:
    """Changes a member's role; the owner changes only through a transfer."""
    target = _member_or_404(db=db, project_id=project.id, user_id=user_id)
    if role == Role.owner:
        raise bad_request(
            "use_transfer", "a project has one owner; transfer ownership to make someone owner"
        )
    if target.role == Role.owner:
        raise conflict(
            "owner_required",
            "the owner's role cannot change: transfer ownership first "
            "(a project always keeps an owner)",
        )
    if (
        actor_role != Role.owner
        and Role.admin in (Role(target.role), role)
        and target.user_id != actor.id
    ):
        raise forbidden("owner_required", "only the owner can grant or take away the admin role")
    previous = target.role
    target.role = role
    record(
        db=db, project_id=project.id, action="member.role_changed", user=actor,
        user_id=user_id, from_role=previous, to_role=str(role),
    )  # fmt: skip
    return target


def remove_member(
    *, db: Session, project: Project, actor: User, actor_role: Role, user_id: int
) -> None:
    target = _member_or_404(db=db, project_id=project.id, user_id=user_id)
    if target.role == Role.owner:
        raise conflict("owner_required", "the owner cannot be removed; transfer ownership first")
    if target.role == Role.admin and actor_role != Role.owner and user_id != actor.id:
        raise forbidden("owner_required", "only the owner can remove an admin")
    db.delete(target)
    record(db=db, project_id=project.id, action="member.removed", user=actor, user_id=user_id)


def leave(*, db: Session, project: Project, user: User) -> None:
    target = _member_or_404(db=db, project_id=project.id, user_id=user.id)
    if target.role == Role.owner:
        raise conflict(
            "owner_required",
            "the owner cannot leave: transfer ownership to another member first",
        )
    db.delete(target)
    record(db=db, project_id=project.id, action="member.left", user=user)


def transfer(*, db: Session, project: Project, owner: User, user_id: int) -> None:
    """Makes another member the owner; the previous owner stays on as admin."""
    if user_id == owner.id:
        raise bad_request("already_owner", "you already own this project")
    target = _member_or_404(db=db, project_id=project.id, user_id=user_id)
    current = _member_or_404(db=db, project_id=project.id, user_id=owner.id)
    current.role = Role.admin
    target.role = Role.owner
    record(
        db=db, project_id=project.id, action="project.transferred", user=owner, to_user_id=user_id
    )


def invite(
    *, db: Session, project: Project, actor: User, actor_role: Role, invitee: str, role: Role
) -> Invitation:
    """Invites someone by username or email.

    The answer never tells whether an account goes by that name or email: an unknown email
    waits until it registers, an unknown username stays pending until cancelled."""
    invitee = invitee.strip().lower()
    if role == Role.owner:
        raise bad_request("use_transfer", "invite with another role, then transfer ownership")
    if role == Role.admin and actor_role != Role.owner:
        raise forbidden("owner_required", "only the owner can invite admins")
    by_email = "@" in invitee
    user = db.scalar(select(User).where((User.email if by_email else User.username) == invitee))
    # Members are listed to the admins who invite, so saying so reveals nothing new.
    if user is not None and membership(db=db, project_id=project.id, user_id=user.id):
        raise conflict("already_member", f"{invitee} is already a member of this project")
    typed = Invitation.invitee_email if by_email else Invitation.invitee_username
    pending = select(Invitation.id).where(
        Invitation.project_id == project.id,
        Invitation.status == InvitationStatus.pending,
        typed == invitee,
    )
    if db.scalar(pending) is not None:
        raise conflict("already_invited", f"{invitee} already has a pending invitation")
    row = Invitation(
        project_id=project.id,
        invitee_user_id=user.id if user else None,
        invitee_email=invitee if by_email else None,
        invitee_username=None if by_email else invitee,
        role=role,
        invited_by_id=actor.id,
    )
    db.add(row)
    db.flush()
    record(
        db=db, project_id=project.id, action="invitation.created", user=actor,
        invitee=invitee, role=str(role),
    )  # fmt: skip
    return row


def claim_email_invitations(*, db: Session, user: User) -> None:
    """Attaches invitations sent to a new user's email before they registered."""
    for row in db.scalars(
        select(Invitation).where(
            Invitation.invitee_email == user.email,
            Invitation.status == InvitationStatus.pending,
        )
    ):
        row.invitee_user_id = user.id


def _close(*, db: Session, row: Invitation, status: InvitationStatus) -> None:
    """Moves a pending invitation to `status` with one conditional UPDATE, so of an accept, a
    decline and a cancel sent at once exactly one wins; the others learn what happened."""
    won = db.scalar(
        sql_update(Invitation)
        .where(Invitation.id == row.id, Invitation.status == InvitationStatus.pending)
        .values(status=status, responded_at=utcnow())
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    db.refresh(row)
    if won is None:
        raise conflict(
            "invitation_closed", f"this invitation was already {row.status}", status=row.status
        )


def respond(*, db: Session, user: User, invitation_id: int, accept: bool) -> Invitation:
    """Accepts or declines an invitation addressed to `user`."""
    row = db.get(Invitation, invitation_id)
    if row is None or row.invitee_user_id != user.id:
        raise not_found("invitation")
    _close(
        db=db, row=row, status=InvitationStatus.accepted if accept else InvitationStatus.declined
    )
    if accept:
        db.add(Membership(project_id=row.project_id, user_id=user.id, role=row.role))
        try:
            db.flush()
        except IntegrityError:
            # Joined already, through another invitation (one by name and one by email).
            db.rollback()
            raise conflict("already_member", "you are already a member of this project") from None
    record(
        db=db, project_id=row.project_id, user=user,
        action="invitation.accepted" if accept else "invitation.declined",
    )  # fmt: skip
    return row


def cancel_invitation(*, db: Session, project: Project, actor: User, invitation_id: int) -> None:
    row = db.get(Invitation, invitation_id)
    if row is None or row.project_id != project.id:
        raise not_found("invitation")
    _close(db=db, row=row, status=InvitationStatus.cancelled)
    record(db=db, project_id=project.id, action="invitation.cancelled", user=actor)


def create_api_key(*, db: Session, project: Project, actor: User, name: str) -> tuple[ApiKey, str]:
    """Creates a project API key; the key is returned once, only its hash is kept."""
    key = new_token("tsk")
    row = ApiKey(
        project_id=project.id,
        name=name,
        key_hash=hash_token(key),
        prefix=key[:8],
        created_by_id=actor.id,
    )
    db.add(row)
    db.flush()
    record(db=db, project_id=project.id, action="api_key.created", user=actor, name=name)
    return row, key


def revoke_api_key(*, db: Session, project: Project, actor: User, key_id: int) -> None:
    row = db.get(ApiKey, key_id)
    if row is None or row.project_id != project.id:
        raise not_found("API key", code="api_key_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(db=db, project_id=project.id, action="api_key.revoked", user=actor, name=row.name)


def rotate_hmac_key(*, db: Session, project: Project, actor: User) -> str:
    project.hmac_key = secrets.token_hex(32)
    record(db=db, project_id=project.id, action="hmac_key.rotated", user=actor)
    return project.hmac_key


def activity(
    *, db: Session, project_id: int, limit: int, offset: int
) -> tuple[list[tuple[ActivityEvent, str | None]], int]:
    """A page of the activity log, newest first, with the total count."""
    total = db.scalar(
        select(func.count())
        .select_from(ActivityEvent)
        .where(ActivityEvent.project_id == project_id)
    )
    rows = db.execute(
        select(ActivityEvent, User.username, ApiKey.name)
        .outerjoin(User, User.id == ActivityEvent.actor_user_id)
        .outerjoin(ApiKey, ApiKey.id == ActivityEvent.actor_api_key_id)
        .where(ActivityEvent.project_id == project_id)
        .order_by(ActivityEvent.created_at.desc(), ActivityEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        (event, username or (f"api key {key_name}" if key_name else None))
        for event, username, key_name in rows
    ]
    return items, int(total or 0)
