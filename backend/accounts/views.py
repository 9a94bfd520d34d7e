"""Routes for registering, logging in and out, the current user and their tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from backend.accounts import service
from backend.accounts.models import AccessToken
from backend.accounts.schemas import (
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    ProfileIn,
    RegisterIn,
    TokenCreated,
    TokenCreateIn,
    TokenOut,
    UserOut,
)
from backend.core.config import Settings
from backend.core.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    Id,
    SessionDep,
    SettingsDep,
    access,
)
from backend.core.security import csrf_token_for

router = APIRouter(prefix="/api", tags=["accounts"])


def _start_session(response: Response, db: SessionDep, user, settings: Settings) -> LoginOut:  # type: ignore[no-untyped-def]
    token = service.open_session(db=db, user=user, settings=settings)
    db.commit()
    csrf = csrf_token_for(token, settings.secret_key)
    max_age = settings.session_days * 86400
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
        secure=settings.cookie_secure, path="/",
    )  # fmt: skip
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict",
        secure=settings.cookie_secure, path="/",
    )  # fmt: skip
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=access("public"),
)
def register(
    body: RegisterIn, response: Response, db: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Creates an account and logs it in."""
    user = service.create_user(
        db=db,
        username=body.username,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
    )
    from backend.projects.service import claim_email_invitations

    claim_email_invitations(db=db, user=user)
    return _start_session(response, db, user, settings)


@router.post("/auth/login", openapi_extra=access("public"))
def login(
    body: LoginIn, request: Request, response: Response, db: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Logs in with username (or email) and password; sets the session and CSRF cookies."""
    user = service.authenticate(
        db=db,
        login=body.username,
        password=body.password,
        address=request.client.host if request.client else "unknown",
        settings=settings,
    )
    return _start_session(response, db, user, settings)


@router.post("/auth/logout", status_code=204, openapi_extra=access("public"))
def logout(request: Request, response: Response, db: SessionDep) -> None:
    """Ends this browser session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.close_session(db=db, token=token)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/users/me", openapi_extra=access("user"))
def read_me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)


@router.patch("/users/me", openapi_extra=access("user"))
def update_me(body: ProfileIn, user: CurrentUser, db: SessionDep) -> UserOut:
    """Changes the caller's name or email."""
    service.update_profile(db=db, user=user, full_name=body.full_name, email=body.email)
    db.commit()
    return UserOut.model_validate(user)


@router.post("/users/me/password", status_code=204, openapi_extra=access("user"))
def change_password(
    body: PasswordChangeIn, request: Request, user: CurrentUser, db: SessionDep
) -> None:
    """Changes the caller's password; other browser sessions are logged out."""
    service.change_password(
        db=db,
        user=user,
        current=body.current_password,
        new=body.new_password,
        keep_session_id=getattr(request.state, "browser_session_id", None),
    )
    db.commit()


@router.get("/users/me/tokens", openapi_extra=access("user"))
def list_tokens(user: CurrentUser, db: SessionDep) -> list[TokenOut]:
    """The caller's personal access tokens (never the tokens themselves)."""
    rows = db.scalars(
        select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id.desc())
    )
    return [TokenOut.model_validate(row) for row in rows]


@router.post("/users/me/tokens", status_code=201, openapi_extra=access("user"))
def create_token(body: TokenCreateIn, user: CurrentUser, db: SessionDep) -> TokenCreated:
    """Creates a personal access token for the REST API; the token is shown only in this answer."""
    row, token = service.create_token(
        db=db, user=user, name=body.name, expires_in_days=body.expires_in_days
    )
    db.commit()
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=token)


@router.delete("/users/me/tokens/{token_id}", status_code=204, openapi_extra=access("user"))
def revoke_token(token_id: Id, user: CurrentUser, db: SessionDep) -> None:
    """Revokes one of the caller's personal access tokens."""
    service.revoke_token(db=db, user=user, token_id=token_id)
    db.commit()
