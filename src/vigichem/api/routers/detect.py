"""Detection routes: ``POST /decide`` (``decide``) and ``POST /detect/run`` (``detect:run``).

``POST /decide`` — the point-of-sale decision. The body is a proposed sale as
:class:`vigichem.detect.decide.ProposedSale` documents it (``product`` or ``composition``, ``quantity``,
``unit``, ``customer_type``, ``party_ref``, ``payment``, ``id_verified``, ``delivery_type``, ``delivery_ref``,
``stated_use``, ``licence``, ``site``, ``time``, ``jurisdiction``). The answer is
:meth:`vigichem.detect.decide.Decision.to_dict`. An operator must name the ``site`` of the sale, one of its
own (site id or location URI). Errors use the API's envelope: 400 for a malformed sale (naming the field),
404 for a product that is not registered or a site that is not the operator's.

``POST /detect/run`` — run the rules over the ledger's history (``since``, default: all of it) and record
the alerts as cases; the answer counts events judged, alerts, and cases opened and updated.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vigichem.accounts import Permission, Principal, TenantKind
from vigichem.api.auth import requires
from vigichem.api.common import NodeDep, error_responses, moment, visible_locations
from vigichem.cases import record_alerts
from vigichem.chem import load_knowledge_base
from vigichem.detect.decide import Decider, ProposedSale, parse_proposed_sale
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.node import Node

__all__ = ["router"]

router = APIRouter(tags=["detection"])
DecideDep = Annotated[Principal, Depends(requires(Permission.DECIDE))]
RunDep = Annotated[Principal, Depends(requires(Permission.DETECT_RUN))]
HISTORY_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class DetectionRun(BaseModel):
    """Which part of the history to judge."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, max_length=64, description="Date or ISO 8601 date-time.")
    jurisdiction: str = Field(default="EU", min_length=1, max_length=16)


def _decider(request: Request, node: Node) -> tuple[Decider, OperatorSites]:
    """One decider and one operator-sites memory per app (the catalogue is reloaded on an unknown product)."""
    decider: Decider | None = getattr(request.app.state, "decider", None)
    if decider is None or decider.engine is not node.engine:
        decider = Decider(node.engine)
        request.app.state.decider = decider
        request.app.state.operator_sites = OperatorSites(node)
    sites: OperatorSites = request.app.state.operator_sites
    return decider, sites


SITES_TTL = 5.0
"""Seconds an operator's list of sites is reused by ``POST /decide``."""


class OperatorSites:
    """Each operator's sites (location URI → site id) for a few seconds: read on every sale otherwise.

    A site that is not among the remembered ones is looked up again before the sale is refused, so a site
    registered a moment ago is accepted at once; only a site taken from an operator (master data reloaded)
    can still be used for up to :data:`SITES_TTL` seconds.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self._known: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def of(self, principal: Principal, *, fresh: bool = False) -> dict[str, str]:
        """The operator's sites, read again when ``fresh`` or older than :data:`SITES_TTL`."""
        organisation = principal.user.organisation or ""
        now = time.monotonic()
        with self._lock:
            known = self._known.get(organisation)
        if known is not None and known[0] > now and not fresh:
            return known[1]
        own = visible_locations(self.node, principal) or {}
        with self._lock:
            if len(self._known) >= 4096:  # bounded: organisations come and go in tests, not in a node
                self._known.clear()
            self._known[organisation] = (now + SITES_TTL, own)
        return own


def _match_site(own: dict[str, str], site: str) -> str | None:
    """The location URI of ``site`` (a location URI or a site id) among ``own``, else None."""
    if site in own:
        return site
    return next((location for location, site_id in own.items() if site_id == site), None)


def _operator_site(sites: OperatorSites, principal: Principal, sale: ProposedSale) -> ProposedSale:
    """An operator sells at its own sites: the sale's site must be one (given as id or location URI)."""
    if principal.user.role.tenant_kind is not TenantKind.OPERATOR:
        return sale
    if sale.site is None:
        raise InvalidInput(
            "proposed sale: site: an operator must name the site of the sale", details={"path": "site"}
        )
    location = _match_site(sites.of(principal), sale.site) or _match_site(
        sites.of(principal, fresh=True), sale.site
    )
    if location is None:
        raise NotFound(
            f"proposed sale: site {sale.site!r} is not one of your sites", details={"path": "site"}
        )
    return sale if location == sale.site else sale.model_copy(update={"site": location})


_SALE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ProposedSale.model_json_schema()}},
    }
}


@router.post(
    "/decide",
    openapi_extra=_SALE_BODY,
    summary="Point-of-sale decision on a proposed sale",
    responses=error_responses(400, 403, 404),
)
async def decide(
    request: Request,
    node: NodeDep,
    principal: DecideDep,
    body: Annotated[Any, Body(description="A proposed sale (see ProposedSale).")] = None,
) -> dict[str, Any]:
    """Decide on a proposed sale: allow, allow_and_report, licence_required or refuse, with reasons."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object describing the proposed sale")
    proposed = parse_proposed_sale(body)
    decider, sites = _decider(request, node)

    def run() -> dict[str, Any]:
        # One trip to the threadpool for all the database work of the request (sites, history).
        sale = _operator_site(sites, principal, proposed)
        try:
            return decider.decide(sale).to_dict()
        except NotFound:
            if sale.product is None:
                raise
            decider.catalogue.refresh()  # master data may have been loaded since the decider was built
            return decider.decide(sale).to_dict()

    return await run_in_threadpool(run)


@router.post(
    "/detect/run", summary="Run detection over history, record cases", responses=error_responses(400, 403)
)
async def detect_run(node: NodeDep, principal: RunDep, body: DetectionRun | None = None) -> dict[str, Any]:
    """Judge the history from ``since`` with the jurisdiction's rules; alerts become cases (never twice)."""
    from vigichem.detect.engine import detect_history

    wanted = body or DetectionRun()
    since = moment(wanted.since, "since") or HISTORY_START
    # The rule pack falls back to the default jurisdiction's settings; an API caller gets told instead.
    jurisdiction = load_knowledge_base().jurisdiction(wanted.jurisdiction).code

    def run() -> dict[str, Any]:
        report = detect_history(node.engine, since, jurisdiction=jurisdiction)
        recorded = record_alerts(node.engine, report.alerts, actor=principal.actor)
        return {
            "jurisdiction": report.jurisdiction,
            "since": since.isoformat(),
            "eventsSeen": report.events_seen,
            "skipped": len(report.skipped),
            "alerts": len(report.alerts),
            "newAlerts": recorded.new_alerts,
            "duplicateAlerts": recorded.duplicate_alerts,
            "casesOpened": len(recorded.cases_opened),
            "casesUpdated": len(recorded.cases_updated),
        }

    return await run_in_threadpool(run)
