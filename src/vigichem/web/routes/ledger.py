"""The ledger pages: events with filters, a lot's trace, the checkpoint and its verification, the balance.

Every read applies the policy's tenancy: events through :func:`~vigichem.accounts.policy.event_condition`,
sites through :func:`~vigichem.accounts.policy.check_site` / ``site_condition``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vigichem.accounts import Permission, TenantKind, policy
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import service
from vigichem.ledger.balance import compute_balance
from vigichem.ledger.gs1 import digital_link_class, parse_epc_class
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.query import EventQuery, run_query
from vigichem.ledger.trace import lot_trace
from vigichem.web.graph import trace_svg
from vigichem.web.routes.common import NodeDep, parse_date, visible_sites
from vigichem.web.security import PagePrincipal, need
from vigichem.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
BIZ_STEPS = (
    "commissioning",
    "shipping",
    "receiving",
    "retail_selling",
    "dispensing",
    "destroying",
    "cycle_counting",
)


def _site_location(node: NodeDep, principal: Any, site: str) -> str:
    with node.engine.connect() as connection:
        policy.check_site(connection, principal, site)
    for record in visible_sites(node, principal):
        if record["id"] == site:
            return str(record["location_uri"])
    raise NotFound(f"no site {site!r}", details={"site": site})


def _stored_event(stored: Any) -> dict[str, Any]:
    event = stored.event
    quantities = [
        {"epcClass": item.get("epcClass"), "quantity": item.get("quantity"), "uom": item.get("uom")}
        for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
        for item in event.get(key, []) or []
        if isinstance(item, dict)
    ]
    return {
        "hash_id": stored.hash_id,
        "type": event.get("type"),
        "time": event.get("eventTime"),
        "biz_step": str(event.get("bizStep") or "").rsplit(":", 1)[-1] or None,
        "location": (event.get("bizLocation") or {}).get("id")
        if isinstance(event.get("bizLocation"), dict)
        else None,
        "quantities": quantities,
        "party_ref": event.get("vc:customerRef"),
    }


@router.get("/ui/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    biz_step: str = "",
    since: str = "",
    until: str = "",
    epc_class: str = "",
    site: str = "",
    page: int = 0,
) -> HTMLResponse:
    """The ledger's events the principal may see, newest first, with filters and paging."""
    need(principal, Permission.EVENTS_READ)
    params: dict[str, str] = {"orderBy": "eventTime", "perPage": str(PER_PAGE)}
    if page < 0 or page > 10**6:
        raise InvalidInput(f"page {page} is out of range")
    if page:
        params["nextPageToken"] = str(page * PER_PAGE)
    if biz_step:
        params["EQ_bizStep"] = biz_step
    first = parse_date(since, "from date")
    last = parse_date(until, "to date")
    if first:
        params["GE_eventTime"] = f"{first.isoformat()}T00:00:00Z"
    if last:
        params["LT_eventTime"] = f"{(last + dt.timedelta(days=1)).isoformat()}T00:00:00Z"
    if epc_class.strip():
        params["MATCH_anyEPCClass"] = epc_class.strip()
    if site:
        params["EQ_bizLocation"] = _site_location(node, principal, site)
    query = EventQuery.from_params(params)
    query.conditions.append(policy.event_condition(principal))
    result = run_query(node.store, query)
    filters = {"biz_step": biz_step, "since": since, "until": until, "epc_class": epc_class, "site": site}
    return render(
        request,
        "events.html",
        principal,
        events=[_stored_event(stored) for stored in result.events],
        filters=filters,
        page=page,
        more=result.next_page_token is not None,
        biz_steps=BIZ_STEPS,
        sites=visible_sites(node, principal),
    )


@router.get("/ui/trace", response_class=HTMLResponse)
def trace_page(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    epcClass: str = "",
    product: str = "",
    lot: str = "",
) -> HTMLResponse:
    """A lot's custody graph, by epcClass or by registered product and lot."""
    need(principal, Permission.EVENTS_READ)
    products = MasterData(node.engine).products()
    epc_class = epcClass.strip()
    if not epc_class and product:
        chosen = next((p for p in products if p.id == product), None)
        if chosen is None or not chosen.gtin:
            raise NotFound(f"no registered product {product!r} with a GTIN", details={"product": product})
        if not lot.strip():
            raise InvalidInput("give the lot number as well as the product")
        epc_class = digital_link_class(chosen.gtin, lot.strip())
    trace = lot_trace(node.engine, epc_class, where=policy.event_condition(principal)) if epc_class else None
    named = parse_epc_class(epc_class) if epc_class else None
    product_name = None
    if named is not None:
        product_name = next((p.name for p in products if p.gtin and p.gtin == named.product_key), None)
    return render(
        request,
        "trace.html",
        principal,
        trace=trace,
        graph=trace_svg(trace) if trace and trace.edges else None,
        epc_class=epc_class,
        product=product,
        lot=lot,
        products=[p for p in products if p.gtin],
        product_name=product_name,
        lot_name=named.lot if named else None,
    )


@router.get("/ui/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """The latest signed checkpoint (signing a fresh one when the log grew and the node holds its key)."""
    need(principal, Permission.LEDGER_READ)
    latest = node.store.latest_checkpoint()
    tree_size, _root = node.store.log_state()
    signer = node.signer
    if (latest is None or latest.tree_size != tree_size) and signer is not None:
        latest = service.checkpoint(node.store, signer)
    return render(
        request,
        "ledger.html",
        principal,
        checkpoint=latest,
        tree_size=tree_size,
        identity=node.identity,
        may_verify=principal.can(Permission.LEDGER_VERIFY),
    )


@router.post("/ui/ledger/verify", response_class=HTMLResponse)
def verify_ledger(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """Recompute the whole ledger from storage (HTMX fragment): ok, or the first tampered event."""
    need(principal, Permission.LEDGER_VERIFY)
    report = service.verify(node.store, node.identity.public_key)
    return render(request, "_verify.html", principal, report=report)


@router.get("/ui/balance", response_class=HTMLResponse)
def balance_page(request: Request, principal: PagePrincipal, node: NodeDep, site: str = "") -> HTMLResponse:
    """Mass balance per site of the principal's sites: lots, substances, transit issues, with a chart."""
    need(principal, Permission.BALANCE_READ)
    visible = visible_sites(node, principal)
    unrestricted = principal.user.role.tenant_kind is TenantKind.NODE
    allowed = None if unrestricted else {str(record["location_uri"]) for record in visible}
    location = _site_location(node, principal, site) if site else None
    report = compute_balance(node.engine, site=location, sites=allowed)
    names = {str(record["location_uri"]): str(record["name"]) for record in visible}
    by_site: dict[str, dict[str, float]] = {}
    for item in report.substances:
        label = f"{names.get(item.site, item.site)}"
        totals = by_site.setdefault(label, {"expected": 0.0})
        totals["expected"] += item.movements.expected
    chart = {
        "type": "bar",
        "horizontal": True,
        "labels": list(by_site)[:40],
        "datasets": [
            {
                "label": "kg",
                "key": "expected",
                "data": [round(v["expected"], 3) for v in list(by_site.values())[:40]],
            }
        ],
    }
    return render(
        request, "balance.html", principal, report=report, sites=visible, site=site, names=names, chart=chart
    )
