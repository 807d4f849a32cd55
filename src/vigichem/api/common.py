"""Helpers shared by the API's routers: the node dependency, documented errors, dates, tenancy look-ups.

Every router takes the node with :data:`NodeDep` and declares its error answers with :func:`error_responses`,
so that the OpenAPI document shows the one error envelope on every route.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from vigichem.accounts import Principal, TenantKind, policy
from vigichem.api.app import get_node
from vigichem.errors import InvalidInput
from vigichem.ledger.inventory_tables import sites
from vigichem.ledger.node import Node
from vigichem.settings import Settings

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "ErrorBody",
    "ErrorEnvelope",
    "IdPath",
    "NodeDep",
    "error_responses",
    "moment",
    "settings_of",
    "visible_locations",
]

NodeDep = Annotated[Node, Depends(get_node)]
MIN_YEAR, MAX_YEAR = 1900, 9000
"""The years a date-time parameter may name."""
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Numeric id.")]
"""A numeric id in a path, bounded so that no database integer overflows on a wild value."""


class ErrorBody(BaseModel):
    """The ``error`` member of the envelope."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    """Every error the API returns: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


_DESCRIPTIONS = {
    400: "Bad input (error envelope, code names the problem).",
    401: "No valid session or API token.",
    403: "The role, the token's scopes, or the CSRF check refuse the request.",
    404: "Not found, or outside the caller's tenancy.",
    409: "Conflicts with stored state.",
    413: "The input is above a stated limit.",
    422: "The request does not match its schema.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all in the error envelope (401 and 422 always)."""
    wanted = sorted({401, 422, *statuses})
    return {status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]} for status in wanted}


def settings_of(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.node_holder.settings
    return settings


def moment(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date-time with an offset (``Z`` accepted) or a date (midnight UTC), in UTC (or None).

    Years outside :data:`MIN_YEAR`..:data:`MAX_YEAR` are refused.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        else:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time",
            details={"parameter": name},
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} {value!r} needs a time-zone offset", details={"parameter": name})
    try:
        in_utc = parsed.astimezone(dt.UTC)
    except OverflowError:
        in_utc = None
    # Far-off years overflow date arithmetic downstream (a window before or after the moment).
    if in_utc is None or not MIN_YEAR <= in_utc.year <= MAX_YEAR:
        raise InvalidInput(
            f"{name} {value!r} is out of range: years {MIN_YEAR} to {MAX_YEAR}", details={"parameter": name}
        )
    return in_utc


def visible_locations(node: Node, principal: Principal) -> dict[str, str] | None:
    """The location URIs of the sites the principal sees, with their site ids; None when unrestricted."""
    if principal.user.role.tenant_kind is TenantKind.NODE:
        return None
    query = select(sites.c.location_uri, sites.c.id).where(policy.site_condition(principal))
    with node.engine.connect() as connection:
        return {str(location): str(site_id) for location, site_id in connection.execute(query)}
