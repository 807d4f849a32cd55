"""Helpers shared by the page routers: the node, the settings, dates from forms, the visible sites."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy import select

from vigichem.accounts import Principal, policy
from vigichem.api.app import get_node
from vigichem.errors import InvalidInput
from vigichem.ledger.inventory_tables import organisations, sites
from vigichem.ledger.node import Node
from vigichem.settings import Settings

__all__ = ["IdPath", "NodeDep", "parse_date", "settings_of", "visible_sites"]

NodeDep = Annotated[Node, Depends(get_node)]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A numeric id in a path, bounded so that no database integer overflows."""


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.node_holder.settings
    return settings


def parse_date(value: str | None, what: str) -> dt.date | None:
    """A date from a form field (``YYYY-MM-DD``), None when blank; :class:`InvalidInput` otherwise."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def visible_sites(node: Node, principal: Principal) -> list[dict[str, Any]]:
    """The sites the principal sees (the policy's site condition), with their organisation's name."""
    query = (
        select(sites, organisations.c.name.label("organisation_name"))
        .select_from(sites.join(organisations, organisations.c.id == sites.c.organisation_id))
        .where(policy.site_condition(principal))
        .order_by(sites.c.organisation_id, sites.c.id)
    )
    with node.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
