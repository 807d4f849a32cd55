"""Accounts routes: ``/health``, log in and out (session cookie), ``/auth/me`` and the caller's API tokens.

* ``POST /auth/login`` (public) sets the session cookie and returns the user and the session's CSRF token;
* ``POST /auth/logout`` ends the session; ``GET /auth/me`` says who is calling and what they may do;
* ``GET/POST /tokens``, ``DELETE /tokens/{id}`` (``tokens:manage``): a token's secret is shown once, at
  creation; a request authenticated by a token may only issue tokens within its own scopes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from vigichem import __version__
from vigichem.accounts import (
    Permission,
    Principal,
    authenticate,
    close_session,
    csrf_token,
    get_user,
    issue_token,
    list_tokens,
    policy,
    revoke_token,
)
from vigichem.api.auth import SESSION_COOKIE, PrincipalDep, requires, start_session
from vigichem.api.common import IdPath, NodeDep, error_responses, settings_of
from vigichem.api.pagination import PageDep, page_of
from vigichem.errors import InvalidInput, NotFound

__all__ = ["router"]

router = APIRouter()


class Login(BaseModel):
    """Credentials of a user."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewToken(BaseModel):
    """A token to issue: its name, scopes (default: all the caller may grant) and optional expiry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Permission] | None = None
    expires_at: dt.datetime | None = Field(default=None, alias="expiresAt")


@router.get("/health", tags=["service"], summary="Liveness and version (public)")
def health() -> dict[str, str]:
    """``{"status": "ok", "version"}``."""
    return {"status": "ok", "version": __version__}


@router.post(
    "/auth/login", tags=["accounts"], summary="Log in: sets the session cookie", responses=error_responses()
)
def login(body: Login, request: Request, response: Response, node: NodeDep) -> dict[str, Any]:
    """Check the password, open a session and set its cookie; the answer holds the CSRF token to send back."""
    settings = settings_of(request)
    user = authenticate(node.engine, body.username, body.password)
    principal = start_session(node.engine, user, settings, response)
    assert principal.session_id is not None
    return {"user": user.to_dict(), "csrfToken": csrf_token(settings.secret_key, principal.session_id)}


@router.post("/auth/logout", tags=["accounts"], summary="Log out", responses=error_responses(403))
def logout(request: Request, response: Response, node: NodeDep, principal: PrincipalDep) -> dict[str, Any]:
    """End the caller's session and clear the cookie (a token-authenticated call ends nothing)."""
    key = request.cookies.get(SESSION_COOKIE)
    ended = principal.via == "session" and key is not None
    if ended and key is not None:
        close_session(node.engine, key)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return {"loggedOut": ended}


@router.get("/auth/me", tags=["accounts"], summary="Who is calling", responses=error_responses())
def me(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """The user, how they authenticated, their sorted permissions and (for a session) the CSRF token."""
    answer: dict[str, Any] = {
        "user": principal.user.to_dict(),
        "via": principal.via,
        "permissions": sorted(str(permission) for permission in principal.permissions),
    }
    if principal.session_id is not None:
        answer["csrfToken"] = csrf_token(settings_of(request).secret_key, principal.session_id)
    return answer


TokensDep = Annotated[Principal, Depends(requires(Permission.TOKENS_MANAGE))]


@router.get("/tokens", tags=["accounts"], summary="The caller's API tokens", responses=error_responses(403))
def tokens(node: NodeDep, principal: TokensDep, page: PageDep) -> dict[str, Any]:
    """The caller's tokens, oldest first, revoked ones included (never a secret)."""
    own = list_tokens(node.engine, principal.user.id)
    return page_of([token.to_dict() for token in page.slice(own)], len(own), page)


@router.post(
    "/tokens",
    status_code=201,
    tags=["accounts"],
    summary="Issue an API token (the secret is shown once)",
    responses=error_responses(400, 403),
)
def new_token(body: NewToken, node: NodeDep, principal: TokensDep) -> dict[str, Any]:
    """Issue a token for the caller; its scopes must lie within what the caller holds right now."""
    scopes = frozenset(body.scopes) if body.scopes is not None else None
    if principal.via == "token":
        # A token must not mint a wider one: by default the new token gets this token's scopes.
        if scopes is None:
            scopes = principal.permissions
        beyond = scopes - principal.permissions
        if beyond:
            names = ", ".join(sorted(str(scope) for scope in beyond))
            raise InvalidInput(
                f"this API token cannot grant scopes it does not hold: {names}",
                details={"scopes": sorted(str(scope) for scope in beyond)},
            )
    expires = body.expires_at
    if expires is not None:
        if expires.tzinfo is None:
            raise InvalidInput("expiresAt needs a time-zone offset", details={"field": "expiresAt"})
        if expires <= dt.datetime.now(dt.UTC):
            raise InvalidInput("expiresAt is in the past", details={"field": "expiresAt"})
    token, secret = issue_token(node.engine, principal.user, body.name, scopes, expires_at=expires)
    return {"token": token.to_dict(), "secret": secret}


@router.delete(
    "/tokens/{token_id}",
    tags=["accounts"],
    summary="Revoke an API token",
    responses=error_responses(403, 404),
)
def delete_token(token_id: IdPath, node: NodeDep, principal: TokensDep) -> dict[str, Any]:
    """Revoke one of the caller's tokens, or (``users:manage``) a token of an account the caller manages."""
    found = next((token for token in list_tokens(node.engine) if token.id == token_id), None)
    if found is None:
        raise NotFound(f"no API token {token_id}", details={"token": token_id})
    if found.user_id != principal.user.id:
        owner = get_user(node.engine, found.user_id)
        if not policy.may_manage(principal, owner.role, owner.country):
            raise NotFound(f"no API token {token_id}", details={"token": token_id})
    return revoke_token(node.engine, token_id).to_dict()
