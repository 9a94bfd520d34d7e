"""Request and response bodies of the project routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.core.deps import Id
from backend.projects.models import Role

USERNAME_MAX_LENGTH = 64


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=10_000)

    _name = field_validator("name")(_not_blank)


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _not_blank(value)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    role: Role
    owner: str


class ProjectOverview(BaseModel):
    """What a project holds and how far it got: for its getting-started checklist, and to say
    what deleting it deletes."""

    samples: int = Field(description="samples not in the trash")
    trashed_samples: int
    training_labels: int = Field(description="labels of the enabled training samples")
    testing_samples: int = Field(description="enabled samples in the test set")
    impulses: int
    training_runs: int
    succeeded_training_runs: int
    deployments: int
    succeeded_deployments: int
    device_tests: int = Field(description="on-device tests run, on real or virtual boards")
    virtual_board_sessions: int = Field(description="times a virtual board was started")


class MemberOut(BaseModel):
    user_id: int
    username: str
    full_name: str
    email: str | None = Field(description="shown to the project's admins and owner only")
    role: Role
    joined_at: datetime


class RoleChange(BaseModel):
    role: Role


class TransferIn(BaseModel):
    user_id: Id


class InvitationCreate(BaseModel):
    invitee: str = Field(min_length=1, max_length=254, description="username or email")
    role: Role = Role.viewer

    @field_validator("invitee")
    @classmethod
    def _username_fits(cls, value: str) -> str:
        # Emails may take all 254 characters; usernames are at most 64 (their column's width).
        if "@" not in value and len(value.strip()) > USERNAME_MAX_LENGTH:
            raise ValueError(f"a username has at most {USERNAME_MAX_LENGTH} characters")
        return value


class InvitationOut(BaseModel):
    id: int
    project_id: int
    project_name: str
    invitee_username: str | None
    invitee_email: str | None
    role: Role
    status: str
    invited_by: str | None
    created_at: datetime
    responded_at: datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)

    _name = field_validator("name")(_not_blank)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself; shown this once, stored only as a hash")


class HmacKeyOut(BaseModel):
    hmac_key: str


class ActivityOut(BaseModel):
    id: int
    action: str
    actor: str | None
    details: dict[str, Any]
    created_at: datetime


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


class DeviceProjectOut(BaseModel):
    project_id: int
    project_name: str
    api_key_name: str
