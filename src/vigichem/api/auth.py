"""Who is calling: API tokens (``Authorization: Bearer …``) and session cookies, as FastAPI dependencies.

A route states what it needs with ``Depends(requires(Permission.X))`` and receives the
:class:`~vigichem.accounts.Principal`; the permission table and the tenancy rules are in
:mod:`vigichem.accounts.policy`. A request with a session cookie that changes state (``POST``, ``PUT``,
``PATCH``, ``DELETE``) must also present the session's CSRF token, in the ``X-CSRF-Token`` header or a
``csrf_token`` form field; requests with a bearer token need none (no browser sends it on its own).

Looking a credential up reads the database, which must not happen on the event loop (it would stall every
other request meanwhile): a principal found in the accounts' short-lived in-process cache
(:data:`~vigichem.accounts.PRINCIPAL_CACHE_TTL`) is taken at once, any other is looked up in the threadpool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from vigichem.accounts import (
    Permission,
    Principal,
    User,
    cached_principal,
    check_csrf,
    open_session,
    policy,
    session_principal,
    token_principal,
)
from vigichem.api.app import get_node
from vigichem.errors import AuthenticationRequired, PermissionDenied
from vigichem.ledger.node import Node
from vigichem.settings import Settings

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "PrincipalDep",
    "current_principal",
    "optional_principal",
    "requires",
    "start_session",
]

SESSION_COOKIE = "vigichem_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form for the route
        return value if isinstance(value, str) else None
    return None


async def optional_principal(request: Request, node: Annotated[Node, Depends(get_node)]) -> Principal | None:
    """The caller, or None when the request carries no credential; a bad credential is refused (401)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization")
    principal: Principal | None = None
    if authorization is not None:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationRequired("the Authorization header must be 'Bearer <API token>'")
        secret = secret.strip()
        principal = cached_principal(node.engine, token=secret)
        if principal is None:
            principal = await run_in_threadpool(token_principal, node.engine, secret)
    elif (key := request.cookies.get(SESSION_COOKIE)) is not None:
        session = cached_principal(node.engine, session_key=key)
        if session is None:
            session = await run_in_threadpool(session_principal, node.engine, key)
        if request.method not in _SAFE_METHODS:
            settings = request.app.state.node_holder.settings
            assert session.session_id is not None
            if not check_csrf(settings.secret_key, session.session_id, await _presented_csrf(request)):
                raise PermissionDenied(
                    f"missing or wrong CSRF token: send it in the {CSRF_HEADER} header or the "
                    f"{CSRF_FIELD} form field"
                )
        principal = session
    request.state.principal = principal
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The authenticated caller (401 in the error envelope when there is none)."""
    if principal is None:
        raise AuthenticationRequired("log in, or send an API token as 'Authorization: Bearer <token>'")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def requires(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits callers holding ``permission`` and returns their principal (else 403)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        policy.require(principal, permission)
        return principal

    dependency.required_permission = permission  # type: ignore[attr-defined]  # read by the route table
    return dependency


def start_session(engine: Engine, user: User, settings: Settings, response: Response) -> Principal:
    """Open a session for ``user`` and set its cookie on ``response`` (HttpOnly, SameSite=Lax, Secure when
    ``settings.secure_cookies``): the one way the API and the web pages log someone in."""
    key = open_session(engine, user, dt.timedelta(hours=settings.session_hours))
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return session_principal(engine, key)
