"""Data entry: registering a product and capturing an EPCIS document.

* ``GET /ui/products/new`` and ``POST /ui/products`` (``products:write``) — a product with its composition,
  registered and screened by :meth:`vigichem.ledger.masterdata.MasterData.register_product`; its
  organisation must be one of the operators the principal sees (the policy's organisation condition: an
  operator its own only), else 403 as from the API. The page registers new products only: an id already
  in the catalogue is a conflict, so no form replaces another organisation's product. Any error is shown
  with its message and nothing is stored.
* ``GET /ui/capture`` and ``POST /ui/capture`` (``events:capture``) — an EPCIS 2.0 JSON document, uploaded
  or pasted, captured exactly as ``POST /capture`` does: the same size limit and parser, the same check that
  an operator captures at its own sites only (the API's own function), then
  :func:`vigichem.ledger.service.capture`, all of it or nothing; validation errors are listed with their
  JSON pointers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.errors import MalformedDocument, status_for
from vigichem.errors import Conflict, InvalidDocument, InvalidInput, PermissionDenied, VigichemError
from vigichem.ledger import inventory_tables as t
from vigichem.ledger import service
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Product
from vigichem.ledger.node import Node
from vigichem.ledger.validation import parse_document
from vigichem.web.routes.common import NodeDep, settings_of
from vigichem.web.security import PagePrincipal, need
from vigichem.web.templating import render

__all__ = ["COMPOSITION_LINES", "router"]

router = APIRouter(include_in_schema=False)
COMPOSITION_LINES = 8
"""Composition lines on the registration form (blank ones are ignored)."""
NET_UNITS = ("", "KGM", "GRM", "TNE", "LTR", "MLT")


def _operators(node: Node, principal: Principal) -> list[dict[str, Any]]:
    """The operator organisations the principal sees, for the product's organisation."""
    query = (
        select(t.organisations.c.id, t.organisations.c.name, t.organisations.c.country)
        .where(policy.organisation_condition(principal), t.organisations.c.kind == "operator")
        .order_by(t.organisations.c.id)
    )
    with node.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def _product_form(
    request: Request,
    node: Node,
    principal: Principal,
    form: dict[str, Any],
    *,
    error: str | None = None,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lines = list(form.get("lines", []))
    lines += [{"substance": "", "percent": ""}] * (COMPOSITION_LINES - len(lines))
    return render(
        request,
        "product_new.html",
        principal,
        status_code=status_code,
        form=form,
        lines=lines,
        organisations=_operators(node, principal),
        net_units=NET_UNITS,
        error=error,
        errors=errors or [],
    )


@router.get("/ui/products/new", response_class=HTMLResponse)
def new_product_page(request: Request, principal: PagePrincipal, node: NodeDep) -> HTMLResponse:
    """The product registration form."""
    need(principal, Permission.PRODUCTS_WRITE)
    return _product_form(request, node, principal, {})


def _number(value: str, what: str) -> float | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a number") from None


def _build_product(form: dict[str, Any]) -> Product:
    """The :class:`Product` the form describes; :class:`InvalidInput` naming the field otherwise."""
    composition = []
    for index, line in enumerate(form["lines"], start=1):
        substance, percent = line["substance"].strip(), line["percent"].strip()
        if not substance and not percent:
            continue
        if not substance or not percent:
            raise InvalidInput(f"composition line {index}: give the substance and its % w/w")
        composition.append({"substance": substance, "percent": _number(percent, f"composition line {index}")})
    raw: dict[str, Any] = {
        "id": form["id"].strip(),
        "name": form["name"].strip(),
        "gtin": form["gtin"].strip() or None,
        "organisation": form["organisation"].strip() or None,
        "composition": composition,
        "density_kg_per_l": _number(form["density"], "density"),
    }
    net_value = _number(form["net_value"], "net content")
    if net_value is not None or form["net_uom"]:
        if net_value is None or not form["net_uom"]:
            raise InvalidInput("net content: give both the value and its unit")
        raw["net_content"] = {"value": net_value, "uom": form["net_uom"]}
    try:
        return Product.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            where = ".".join(str(part) for part in item["loc"])
            problems.append(f"{where}: {str(item['msg']).removeprefix('Value error, ')}")
        raise InvalidInput("; ".join(problems)) from None


@router.post("/ui/products", response_model=None)
async def register_product(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    gtin: Annotated[str, Form(max_length=20)] = "",
    organisation: Annotated[str, Form(max_length=64)] = "",
    substance: Annotated[list[str] | None, Form(max_length=COMPOSITION_LINES)] = None,
    percent: Annotated[list[str] | None, Form(max_length=COMPOSITION_LINES)] = None,
    net_value: Annotated[str, Form(max_length=40)] = "",
    net_uom: Annotated[str, Form(max_length=8)] = "",
    density: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Register and screen a new product; the form again with the precise message on any error."""
    need(principal, Permission.PRODUCTS_WRITE)
    substances, percents = list(substance or []), list(percent or [])
    percents += [""] * (len(substances) - len(percents))
    substances += [""] * (len(percents) - len(substances))
    lines = [{"substance": s, "percent": p} for s, p in zip(substances, percents, strict=True)]
    form: dict[str, Any] = {
        "id": id,
        "name": name,
        "gtin": gtin,
        "organisation": organisation,
        "lines": lines,
        "net_value": net_value,
        "net_uom": net_uom,
        "density": density,
    }
    try:
        product = _build_product(form)
        if product.organisation not in {org["id"] for org in _operators(node, principal)}:
            raise PermissionDenied(
                f"you may not register products of organisation {product.organisation!r}",
                details={"organisation": product.organisation},
            )
        with node.engine.connect() as connection:
            taken = connection.scalar(select(t.products.c.id).where(t.products.c.id == product.id))
        if taken is not None:
            raise Conflict(f"a product {product.id!r} is already registered", details={"product": product.id})
        try:
            await run_in_threadpool(MasterData(node.engine).register_product, product)
        except SQLIntegrityError:
            raise Conflict(f"the GTIN {product.gtin} is registered to another product") from None
    except VigichemError as exc:
        listed = exc.details.get("errors") if isinstance(exc.details, dict) else None
        errors = listed if isinstance(listed, list) else []
        return _product_form(
            request, node, principal, form, error=exc.message, errors=errors, status_code=status_for(exc)
        )
    return RedirectResponse(f"/ui/products/{product.id}", status_code=303)


# ---- capture -----------------------------------------------------------------------------------------


@router.get("/ui/capture", response_class=HTMLResponse)
def capture_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The capture form: a file to upload or a document to paste."""
    need(principal, Permission.EVENTS_CAPTURE)
    limit = settings_of(request).max_document_bytes
    return render(request, "capture.html", principal, document="", result=None, error=None, limit=limit)


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded file's bytes; one byte past the limit is enough for the parser to refuse it."""
    data = await upload.read(limit + 1)
    await upload.close()
    return data


def _check_capture_sites(node: Node, principal: Principal, document: dict[str, Any]) -> None:
    with node.engine.connect() as connection:
        policy.check_capture_sites(connection, principal, document)


@router.post("/ui/capture", response_class=HTMLResponse)
async def capture(
    request: Request,
    principal: PagePrincipal,
    node: NodeDep,
    document: Annotated[str, Form()] = "",
    document_file: UploadFile | None = None,
) -> HTMLResponse:
    """Capture the document as ``POST /capture`` does: all of it or nothing."""
    need(principal, Permission.EVENTS_CAPTURE)
    limit = settings_of(request).max_document_bytes
    result = None
    error: str | None = None
    errors: list[dict[str, str]] = []
    status_code = 200
    shown = document if len(document) <= 200_000 else ""  # pasted text comes back for correction
    try:
        raw: bytes | str
        if document_file is not None and document_file.filename:
            raw = await _read_upload(document_file, limit)
            shown = ""
        elif document.strip():
            raw = document
        else:
            raise InvalidInput("choose a file or paste an EPCIS 2.0 JSON document")
        try:
            parsed = parse_document(raw, limit)
        except InvalidDocument as exc:
            raise MalformedDocument(exc.message, details=exc.details) from None  # 400, as the API says
        await run_in_threadpool(_check_capture_sites, node, principal, parsed)
        result = await run_in_threadpool(
            service.capture, node.store, parsed, signer=node.signer, max_bytes=limit
        )
    except VigichemError as exc:
        error = exc.message
        listed = exc.details.get("errors") if isinstance(exc.details, dict) else None
        errors = listed if isinstance(listed, list) else []
        status_code = status_for(exc)
    return render(
        request,
        "capture.html",
        principal,
        status_code=status_code,
        document=shown if result is None else "",
        result=result,
        error=error,
        errors=errors,
        limit=limit,
    )
