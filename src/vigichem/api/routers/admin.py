"""Account administration (``users:manage``): list, create and change the accounts the caller may manage.

Which accounts those are is :func:`vigichem.accounts.policy.may_manage`'s decision: a node administrator
manages every account, an authority administrator the operator and authority accounts of its own country.
Accounts the caller may not manage are answered as not found.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from vigichem.accounts import (
    Permission,
    Principal,
    Role,
    change_user,
    create_user,
    get_user,
    list_users,
    organisation_country,
    policy,
)
from vigichem.api.auth import requires
from vigichem.api.common import IdPath, NodeDep, error_responses
from vigichem.api.pagination import PageDep, page_of
from vigichem.errors import NotFound, PermissionDenied

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])
ManagerDep = Annotated[Principal, Depends(requires(Permission.USERS_MANAGE))]


class NewUser(BaseModel):
    """An account to create."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    organisation: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, alias="displayName", max_length=200)
    language: str = Field(default="en", max_length=8)


class UserChange(BaseModel):
    """Changes to an account (absent fields stay as they are)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    display_name: str | None = Field(default=None, alias="displayName", max_length=200)
    language: str | None = Field(default=None, max_length=8)


@router.get("/users", summary="Accounts the caller manages", responses=error_responses(403))
def users(node: NodeDep, principal: ManagerDep, page: PageDep) -> dict[str, Any]:
    """The accounts :func:`~vigichem.accounts.policy.may_manage` lets the caller manage, oldest first."""
    managed = [
        user for user in list_users(node.engine) if policy.may_manage(principal, user.role, user.country)
    ]
    return page_of([user.to_dict() for user in page.slice(managed)], len(managed), page)


@router.post(
    "/users", status_code=201, summary="Create an account", responses=error_responses(400, 403, 404, 409)
)
def create(body: NewUser, node: NodeDep, principal: ManagerDep) -> dict[str, Any]:
    """Create an account of ``role`` in ``organisation`` (authority administrators: own country)."""
    if not policy.may_manage(principal, body.role, organisation_country(node.engine, body.organisation)):
        raise PermissionDenied(
            f"you may not create a {body.role} account in organisation {body.organisation!r}",
            details={"role": str(body.role), "organisation": body.organisation},
        )
    user = create_user(
        node.engine,
        body.username,
        body.password,
        body.role,
        organisation=body.organisation,
        display_name=body.display_name,
        language=body.language,
    )
    return user.to_dict()


@router.patch("/users/{user_id}", summary="Change an account", responses=error_responses(400, 403, 404))
def change(user_id: IdPath, body: UserChange, node: NodeDep, principal: ManagerDep) -> dict[str, Any]:
    """Change role, disabled flag, password, display name or language; disabling ends the account's access."""
    try:
        current = get_user(node.engine, user_id)
    except NotFound:
        current = None
    if current is None or not policy.may_manage(principal, current.role, current.country):
        raise NotFound(f"no user {user_id}", details={"user": user_id})
    if body.role is not None and not policy.may_manage(principal, body.role, current.country):
        raise PermissionDenied(f"you may not give the role {body.role}", details={"role": str(body.role)})
    changed = change_user(
        node.engine,
        user_id,
        role=body.role,
        disabled=body.disabled,
        password=body.password,
        display_name=body.display_name,
        language=body.language,
    )
    return changed.to_dict()
