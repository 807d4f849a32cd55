"""Inventory routes: ``GET /balance`` (``balance:read``): mass balance, transit issues and CWC aggregates.

Query parameters as ``vigichem balance``: ``site``, ``product``, ``substance``, ``transitDays`` (default 14),
``year`` (CWC aggregates), ``asOf`` (ISO 8601 with offset, or a date: midnight UTC). The report is confined
to the caller's sites (an operator: its own; an authority: its country's); a ``site`` outside them is
answered 404 like an unknown one. The body is :meth:`vigichem.ledger.balance_models.BalanceReport.as_dict`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from vigichem.accounts import Permission, Principal
from vigichem.api.auth import requires
from vigichem.api.common import NodeDep, error_responses, moment, visible_locations
from vigichem.errors import NotFound
from vigichem.ledger.balance import DEFAULT_TRANSIT_DAYS, compute_balance
from vigichem.ledger.inventory_tables import sites as sites_table
from vigichem.ledger.node import Node

__all__ = ["router"]

router = APIRouter(tags=["inventory"])
BalanceDep = Annotated[Principal, Depends(requires(Permission.BALANCE_READ))]


def _site_location(node: Node, site: str) -> str | None:
    """The location URI of a site given by id, GLN or location URI (None when not registered)."""
    columns = sites_table.c
    with node.engine.connect() as connection:
        for column in (columns.id, columns.gln, columns.location_uri):
            found = connection.scalar(select(columns.location_uri).where(column == site))
            if found is not None:
                return str(found)
    return None


@router.get(
    "/balance", summary="Mass balance of the caller's sites", responses=error_responses(400, 403, 404)
)
async def balance(
    node: NodeDep,
    principal: BalanceDep,
    site: Annotated[str | None, Query(max_length=300, description="Site id, GLN or location URI.")] = None,
    product: Annotated[str | None, Query(max_length=200, description="Product id or GTIN.")] = None,
    substance: Annotated[str | None, Query(max_length=200, description="CAS number or name.")] = None,
    transit_days: Annotated[float, Query(alias="transitDays", ge=0, le=3650)] = DEFAULT_TRANSIT_DAYS,
    year: Annotated[int | None, Query(ge=1997, le=9999)] = None,
    as_of: Annotated[str | None, Query(alias="asOf", max_length=64)] = None,
) -> dict[str, Any]:
    """The balance report of the caller's sites."""
    when = moment(as_of, "asOf")
    allowed = await run_in_threadpool(visible_locations, node, principal)
    if site is not None:
        location = await run_in_threadpool(_site_location, node, site)
        if location is None or (allowed is not None and location not in allowed):
            raise NotFound(f"unknown site {site!r}", details={"site": site})
    report = await run_in_threadpool(
        lambda: compute_balance(
            node.engine,
            site=site,
            product=product,
            substance=substance,
            transit_days=transit_days,
            year=year,
            as_of=when,
            sites=None if allowed is None else set(allowed),
        )
    )
    answer: dict[str, Any] = report.as_dict()
    return answer
