"""Inventory routes: ``GET /balance`` — the mass balance, transit issues and CWC aggregates as JSON.

Query parameters as ``vigichem balance``: ``site``, ``product``, ``substance``, ``transitDays`` (default 14),
``year`` (CWC aggregates), ``asOf`` (ISO 8601 with offset). Errors use the API's envelope (400 bad input,
404 unknown site). The body is :meth:`vigichem.ledger.balance_models.BalanceReport.as_dict`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from vigichem.api.app import get_node
from vigichem.errors import InvalidInput
from vigichem.ledger.balance import DEFAULT_TRANSIT_DAYS, compute_balance
from vigichem.ledger.node import Node

__all__ = ["router"]

router = APIRouter(tags=["inventory"])
NodeDep = Annotated[Node, Depends(get_node)]


def _as_of(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"asOf {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"asOf {value!r} needs a time-zone offset")
    return moment


@router.get("/balance")
async def balance(
    node: NodeDep,
    site: str | None = None,
    product: str | None = None,
    substance: str | None = None,
    transit_days: Annotated[float, Query(alias="transitDays", ge=0)] = DEFAULT_TRANSIT_DAYS,
    year: Annotated[int | None, Query(ge=1997, le=9999)] = None,
    as_of: Annotated[str | None, Query(alias="asOf")] = None,
) -> dict[str, Any]:
    """The balance report of the node's ledger."""
    moment = _as_of(as_of)
    report = await run_in_threadpool(
        compute_balance,
        node.engine,
        site=site,
        product=product,
        substance=substance,
        transit_days=transit_days,
        year=year,
        as_of=moment,
    )
    return report.as_dict()
