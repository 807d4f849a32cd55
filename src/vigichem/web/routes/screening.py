"""Screening, the point of sale and the product catalogue.

* ``GET /ui/screen`` — a name, CAS, SMILES, InChI or composition, a jurisdiction, an as-of date and a
  quantity → the findings (legal ones apart from ``watch`` ones), notes, and each structure drawn by RDKit.
* ``GET /ui/pos`` and ``POST /ui/pos`` — a clerk's proposed sale → allow / allow_and_report /
  licence_required / refuse with reasons and legal basis (:class:`vigichem.detect.decide.Decider`).
* ``GET /ui/products`` and ``GET /ui/products/{id}`` — the shared catalogue with compositions and findings.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from vigichem.accounts import Permission, policy
from vigichem.chem import ScreeningResult, load_knowledge_base, screen
from vigichem.detect.decide import Decider, parse_proposed_sale
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import extensions as ext
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.node import Node
from vigichem.web.routes.common import NodeDep, parse_date, visible_sites
from vigichem.web.security import PagePrincipal, need
from vigichem.web.structure import draw_smiles
from vigichem.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
UNITS = ("KGM", "GRM", "TNE", "LTR", "MLT")


def _jurisdictions() -> list[tuple[str, str]]:
    return [(code, j.name) for code, j in load_knowledge_base().jurisdictions.items()]


def _drawings(result: ScreeningResult) -> list[dict[str, Any]]:
    """The structures to draw: the chemical, or each identified component of a mixture."""
    parts = result.components or (result,)
    out = []
    for part in parts:
        identity = part.identity
        if identity is None or not identity.smiles:
            continue
        label = identity.name or identity.cas or part.query
        svg = draw_smiles(identity.smiles, title=label)
        if svg is not None:
            out.append({"label": label, "identity": identity, "svg": svg})
    return out


@router.get("/ui/screen", response_class=HTMLResponse)
def screen_page(
    request: Request,
    principal: PagePrincipal,
    q: str | None = None,
    jurisdiction: str = "EU",
    as_of: str | None = None,
    quantity: str | None = None,
) -> HTMLResponse:
    """The screening form and, when a query is given, its result."""
    need(principal, Permission.SCREEN)
    form = {"q": q or "", "jurisdiction": jurisdiction, "as_of": as_of or "", "quantity": quantity or ""}
    result: ScreeningResult | None = None
    error: str | None = None
    if q is not None and q.strip():
        try:
            result = screen(
                q,
                jurisdiction=jurisdiction or None,
                as_of=parse_date(as_of, "as-of date"),
                quantity=quantity.strip() if quantity and quantity.strip() else None,
            )
        except InvalidInput as exc:
            error = exc.message
    legal = [f for f in result.findings if f.status != "watch"] if result else []
    watch = [f for f in result.findings if f.status == "watch"] if result else []
    return render(
        request,
        "screen.html",
        principal,
        status_code=400 if error else 200,
        form=form,
        jurisdictions=_jurisdictions(),
        result=result,
        legal=legal,
        watch=watch,
        drawings=_drawings(result) if result else [],
        error=error,
    )


def _decider(request: Request, node: Node) -> Decider:
    """One decider per app, shared with the API's ``/decide`` (its catalogue is refreshed when stale)."""
    decider: Decider | None = getattr(request.app.state, "decider", None)
    if decider is None or decider.engine is not node.engine:
        decider = Decider(node.engine)
        request.app.state.decider = decider
    return decider


def _pos_context(node: Node, principal: Any) -> dict[str, Any]:
    return {
        "products": MasterData(node.engine).products(),
        "sites": visible_sites(node, principal),
        "units": UNITS,
        "customer_types": ext.CUSTOMER_TYPES,
        "payments": ext.PAYMENT_METHODS,
        "deliveries": ext.DELIVERY_TYPES,
        "jurisdictions": _jurisdictions(),
    }


@router.get("/ui/pos", response_class=HTMLResponse)
def pos_page(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """The point-of-sale form."""
    need(principal, Permission.DECIDE)
    return render(
        request, "pos.html", principal, form={}, decision=None, error=None, **_pos_context(node, principal)
    )


@router.post("/ui/pos", response_class=HTMLResponse)
def pos_decide(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    product: Annotated[str, Form(max_length=200)] = "",
    quantity: Annotated[str, Form(max_length=40)] = "",
    unit: Annotated[str, Form(max_length=8)] = "KGM",
    customer_type: Annotated[str, Form(max_length=40)] = "private",
    party_ref: Annotated[str, Form(max_length=200)] = "",
    payment: Annotated[str, Form(max_length=40)] = "",
    id_verified: Annotated[str, Form(max_length=8)] = "",
    delivery_type: Annotated[str, Form(max_length=40)] = "",
    stated_use: Annotated[str, Form(max_length=2000)] = "",
    licence: Annotated[str, Form(max_length=200)] = "",
    site: Annotated[str, Form(max_length=200)] = "",
    jurisdiction: Annotated[str, Form(max_length=8)] = "EU",
) -> HTMLResponse:
    """Decide on the proposed sale; the site must be one the clerk may see (the policy's site condition)."""
    need(principal, Permission.DECIDE)
    form = {
        "product": product,
        "quantity": quantity,
        "unit": unit,
        "customer_type": customer_type,
        "party_ref": party_ref,
        "payment": payment,
        "id_verified": id_verified,
        "delivery_type": delivery_type,
        "stated_use": stated_use,
        "licence": licence,
        "site": site,
        "jurisdiction": jurisdiction,
    }
    decision = None
    error: str | None = None
    try:
        raw: dict[str, Any] = {"product": product or None, "unit": unit, "customer_type": customer_type}
        raw["jurisdiction"] = jurisdiction or "EU"
        raw["time"] = dt.datetime.now(dt.UTC)
        try:
            raw["quantity"] = float(quantity.replace(",", "."))
        except ValueError:
            raise InvalidInput(f"quantity: {quantity!r} is not a number") from None
        for name, value in (
            ("party_ref", party_ref),
            ("payment", payment),
            ("delivery_type", delivery_type),
            ("stated_use", stated_use),
            ("licence", licence),
        ):
            if value.strip():
                raw[name] = value.strip()
        if id_verified in ("yes", "no"):
            raw["id_verified"] = id_verified == "yes"
        if site:
            with node.engine.connect() as connection:
                policy.check_site(connection, principal, site)  # a site outside the tenancy is "not found"
            raw["site"] = site
        sale = parse_proposed_sale(raw)
        decider = _decider(request, node)
        try:
            decision = decider.decide(sale)
        except NotFound:
            decider.catalogue.refresh()  # a product registered since the decider was built
            decision = decider.decide(sale)
    except (InvalidInput, NotFound) as exc:
        error = exc.message
    return render(
        request,
        "pos.html",
        principal,
        status_code=400 if error else 200,
        form=form,
        decision=decision,
        error=error,
        **_pos_context(node, principal),
    )


@router.get("/ui/products", response_class=HTMLResponse)
def products_page(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """The product catalogue (shared by every principal allowed to read products)."""
    need(principal, Permission.PRODUCTS_READ)
    return render(request, "products.html", principal, products=MasterData(node.engine).products())


@router.get("/ui/products/{product_id}", response_class=HTMLResponse)
def product_page(request: Request, principal: PagePrincipal, node: NodeDep, product_id: str) -> HTMLResponse:
    """One product: composition, the findings of its components, and their structures."""
    need(principal, Permission.PRODUCTS_READ)
    product = MasterData(node.engine).product(product_id)
    drawings = []
    for component in product.components:
        try:
            result = screen(component.cas or component.substance)
        except InvalidInput:
            continue
        drawings += _drawings(result)
    return render(request, "product.html", principal, product=product, drawings=drawings)
