"""Helpers shared by the page routers: dates from forms and the visible sites.

The node dependency, the settings and the bounded id path parameter are the API's own
(:mod:`vigichem.api.common`), re-exported so that pages and routes take them the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from vigichem.accounts import Principal, policy
from vigichem.api.common import IdPath, NodeDep, settings_of
from vigichem.errors import InvalidInput
from vigichem.ledger.inventory_tables import organisations, sites
from vigichem.ledger.node import Node

__all__ = ["IdPath", "NodeDep", "parse_date", "settings_of", "visible_sites"]


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
