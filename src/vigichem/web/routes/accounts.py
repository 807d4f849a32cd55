"""Account administration and the caller's own API tokens.

* ``GET /ui/admin/users`` and ``POST /ui/admin/users`` (``users:manage``) — the accounts the principal may
  manage (:func:`vigichem.accounts.policy.may_manage`) and a form to create one; ``POST
  /ui/admin/users/{id}`` disables, enables, resets the password of, or changes the role of one of them.
  An account the principal may not manage is answered as not found; creating or promoting one beyond what
  ``may_manage`` allows is the 403 page, and nothing is stored.
* ``GET /ui/tokens``, ``POST /ui/tokens`` and ``POST /ui/tokens/{id}/revoke`` (``tokens:manage``) — the
  principal's own API tokens; a new token's secret is shown once, in the answer to the form.

The service functions (:mod:`vigichem.accounts`) check the data (username, password length, role against
the organisation's kind); the policy decides who may do what. This module adds no rule of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from vigichem.accounts import (
    LANGUAGES,
    MIN_PASSWORD_LENGTH,
    Permission,
    Principal,
    Role,
    User,
    change_user,
    create_user,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    organisation_country,
    policy,
    revoke_token,
)
from vigichem.api.errors import status_for
from vigichem.errors import InvalidInput, NotFound, PermissionDenied, VigichemError
from vigichem.ledger.inventory_tables import organisations
from vigichem.web.routes.common import IdPath, NodeDep, parse_date
from vigichem.web.security import PagePrincipal, need
from vigichem.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
USER_ACTIONS = ("disable", "enable", "password", "role")
NOTICES = ("created", *USER_ACTIONS)


def _organisations(node: NodeDep, principal: Principal) -> list[dict[str, Any]]:
    """The organisations the principal sees (the policy's organisation condition), by id."""
    query = (
        select(organisations.c.id, organisations.c.name, organisations.c.country, organisations.c.kind)
        .where(policy.organisation_condition(principal))
        .order_by(organisations.c.id)
    )
    with node.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def _managed(node: NodeDep, principal: Principal) -> list[User]:
    return [user for user in list_users(node.engine) if policy.may_manage(principal, user.role, user.country)]


def _users_page(
    request: Request,
    node: NodeDep,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    notice: str | None = None,
    notice_user: str | None = None,
) -> HTMLResponse:
    visible = _organisations(node, principal)
    countries = {org["country"] for org in visible} | {None}
    # Offer only what the policy would accept: organisations and roles it lets the principal manage.
    roles = [role for role in Role if any(policy.may_manage(principal, role, c) for c in countries)]
    choices = [org for org in visible if any(policy.may_manage(principal, r, org["country"]) for r in roles)]
    users = _managed(node, principal)
    if notice_user not in {user.username for user in users}:
        notice = None  # the notice names an account from the query string: only one the principal manages
    return render(
        request,
        "users.html",
        principal,
        status_code=status_code,
        users=users,
        roles=roles,
        organisations=choices,
        names={org["id"]: org["name"] for org in visible},
        account_languages=LANGUAGES,
        min_password=MIN_PASSWORD_LENGTH,
        form=form or {},
        error=error,
        notice=notice,
        notice_user=notice_user,
    )


@router.get("/ui/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, principal: PagePrincipal, node: NodeDep, done: str = "", user: str = ""
) -> HTMLResponse:
    """The accounts the principal manages, the creation form, and each account's actions."""
    need(principal, Permission.USERS_MANAGE)
    notice = done if done in NOTICES else None
    return _users_page(request, node, principal, notice=notice, notice_user=user[:64] if notice else None)


@router.post("/ui/admin/users", response_model=None)
def create_account(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    organisation: Annotated[str, Form(max_length=64)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Create an account; refused (403 page, nothing stored) beyond what ``may_manage`` allows."""
    need(principal, Permission.USERS_MANAGE)
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "organisation": organisation,
        "language": language,
    }
    try:
        try:
            the_role = Role(role)
        except ValueError:
            raise InvalidInput(f"role {role!r} is not one of {', '.join(Role)}") from None
        org = organisation.strip() or None
        if not policy.may_manage(principal, the_role, organisation_country(node.engine, org)):
            raise PermissionDenied(
                f"you may not create a {the_role} account in organisation {org!r}",
                details={"role": str(the_role), "organisation": org},
            )
        created = create_user(
            node.engine,
            username,
            password,
            the_role,
            organisation=org,
            display_name=display_name.strip() or None,
            language=language,
        )
    except PermissionDenied:
        raise  # the 403 page
    except VigichemError as exc:
        return _users_page(
            request, node, principal, form=form, error=exc.message, status_code=status_for(exc)
        )
    return RedirectResponse(f"/ui/admin/users?done=created&user={created.username}", status_code=303)


@router.post("/ui/admin/users/{user_id}", response_model=None)
def change_account(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    user_id: IdPath,
    action: Annotated[str, Form(max_length=20)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Disable, enable, reset the password of, or change the role of an account the principal manages."""
    need(principal, Permission.USERS_MANAGE)
    try:
        current = get_user(node.engine, user_id)
    except NotFound:
        current = None
    if current is None or not policy.may_manage(principal, current.role, current.country):
        raise NotFound(f"no user {user_id}", details={"user": user_id})  # its existence does not leak
    try:
        if action == "disable":
            change_user(node.engine, user_id, disabled=True)
        elif action == "enable":
            change_user(node.engine, user_id, disabled=False)
        elif action == "password":
            change_user(node.engine, user_id, password=password)
        elif action == "role":
            try:
                new_role = Role(role)
            except ValueError:
                raise InvalidInput(f"role {role!r} is not one of {', '.join(Role)}") from None
            if not policy.may_manage(principal, new_role, current.country):
                raise PermissionDenied(
                    f"you may not give the role {new_role}", details={"role": str(new_role)}
                )
            change_user(node.engine, user_id, role=new_role)
        else:
            raise InvalidInput(f"action {action!r} is not one of {', '.join(USER_ACTIONS)}")
    except PermissionDenied:
        raise
    except VigichemError as exc:
        message = f"{current.username}: {exc.message}"
        return _users_page(request, node, principal, error=message, status_code=status_for(exc))
    return RedirectResponse(f"/ui/admin/users?done={action}&user={current.username}", status_code=303)


# ---- the principal's own API tokens ---------------------------------------------------------------------


def _tokens_page(
    request: Request,
    node: NodeDep,
    principal: Principal,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
    issued: Any = None,
    secret: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "tokens.html",
        principal,
        status_code=status_code,
        tokens=list(reversed(list_tokens(node.engine, principal.user.id))),
        scopes=sorted(str(permission) for permission in principal.permissions),
        form=form or {"scopes": []},
        error=error,
        issued=issued,
        secret=secret,
        now=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )


@router.get("/ui/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """The principal's API tokens (revoked ones too) and the form to issue one."""
    need(principal, Permission.TOKENS_MANAGE)
    return _tokens_page(request, node, principal)


@router.post("/ui/tokens", response_class=HTMLResponse)
def new_token(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form(max_length=40)] = None,
    expires: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """Issue a token with the chosen scopes (within the role's permissions); its secret is shown once."""
    need(principal, Permission.TOKENS_MANAGE)
    chosen = list(scopes or [])
    form = {"name": name, "scopes": chosen, "expires": expires}
    try:
        if not chosen:
            raise InvalidInput("choose at least one scope")
        last_day = parse_date(expires, "expiry date")
        expires_at = None
        if last_day is not None:
            # The token is valid to the end of the chosen day (UTC).
            expires_at = dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=dt.UTC)
            if expires_at <= dt.datetime.now(dt.UTC):
                raise InvalidInput(f"expiry date {last_day.isoformat()} is in the past")
        token, secret = issue_token(node.engine, principal.user, name, chosen, expires_at=expires_at)
    except InvalidInput as exc:
        return _tokens_page(request, node, principal, form=form, error=exc.message, status_code=400)
    return _tokens_page(request, node, principal, issued=token, secret=secret)


@router.post("/ui/tokens/{token_id}/revoke")
def revoke(principal: PagePrincipal, node: NodeDep, token_id: IdPath) -> RedirectResponse:
    """Revoke one of the principal's own tokens (another's is answered as not found)."""
    need(principal, Permission.TOKENS_MANAGE)
    if not any(token.id == token_id for token in list_tokens(node.engine, principal.user.id)):
        raise NotFound(f"no API token {token_id}", details={"token": token_id})
    revoke_token(node.engine, token_id)
    return RedirectResponse("/ui/tokens", status_code=303)
