"""Master-data routes: organisations and sites (tenancy-filtered), the shared product catalogue.

* ``GET /organisations``, ``GET /sites`` (``products:read``): what the caller's tenancy shows;
* ``GET /products`` (``q`` searches id, name and GTIN), ``GET /products/{id}``: every product, with its
  composition and the findings of its screening at registration;
* ``POST /products`` (``products:write``): register (or replace) a product, screened on the way in; an
  operator registers products of its own organisation only, and never replaces another's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from vigichem.accounts import Permission, Principal, TenantKind, policy
from vigichem.api.auth import requires
from vigichem.api.common import NodeDep, error_responses
from vigichem.api.pagination import PageDep, page_of
from vigichem.errors import Conflict, PermissionDenied
from vigichem.ledger import inventory_tables as t
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Product, RegisteredProduct

__all__ = ["router"]

router = APIRouter(tags=["master data"])
ReaderDep = Annotated[Principal, Depends(requires(Permission.PRODUCTS_READ))]
WriterDep = Annotated[Principal, Depends(requires(Permission.PRODUCTS_WRITE))]


def _product(product: RegisteredProduct) -> dict[str, Any]:
    data: dict[str, Any] = product.model_dump(mode="json")
    return data


@router.get("/organisations", summary="Organisations the caller sees", responses=error_responses(403))
def list_organisations(node: NodeDep, principal: ReaderDep, page: PageDep) -> dict[str, Any]:
    """Organisations (id, name, country, kind, party_uri): an operator its own, an authority its country's."""
    found, total = MasterData(node.engine).organisation_page(
        policy.organisation_condition(principal), limit=page.limit, offset=page.offset
    )
    return page_of(found, total, page)


@router.get("/sites", summary="Sites the caller sees", responses=error_responses(403))
def list_sites(node: NodeDep, principal: ReaderDep, page: PageDep) -> dict[str, Any]:
    """Sites (id, organisation_id, name, gln, location_uri, country) within the caller's tenancy."""
    found, total = MasterData(node.engine).site_page(
        policy.site_condition(principal), limit=page.limit, offset=page.offset
    )
    return page_of(found, total, page)


@router.get("/products", summary="The product catalogue", responses=error_responses(403))
def list_products(
    node: NodeDep,
    principal: ReaderDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of the id, name or GTIN.")] = None,
) -> dict[str, Any]:
    """Products ordered by id with their composition and findings; the catalogue is shared by everyone."""
    found, total = MasterData(node.engine).product_page(q, limit=page.limit, offset=page.offset)
    return page_of([_product(product) for product in found], total, page)


@router.get("/products/{product_id}", summary="One product", responses=error_responses(403, 404))
def get_product(
    node: NodeDep, principal: ReaderDep, product_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """A product with its composition and the findings of its screening."""
    return _product(MasterData(node.engine).product(product_id))


@router.post(
    "/products",
    status_code=201,
    summary="Register a product (screened)",
    responses=error_responses(400, 403, 409),
)
async def register_product(
    product: Product,
    node: NodeDep,
    principal: WriterDep,
    jurisdiction: Annotated[
        str | None, Query(max_length=16, description="Screen for this jurisdiction.")
    ] = None,
) -> dict[str, Any]:
    """Register or replace a product; its composition is screened and the findings stored with it."""
    if principal.user.role.tenant_kind is TenantKind.OPERATOR:
        own = principal.user.organisation
        if product.organisation is None:
            product = product.model_copy(update={"organisation": own})
        if product.organisation != own:
            raise PermissionDenied(
                f"an operator registers products of its own organisation ({own}), not of "
                f"{product.organisation!r}",
                details={"organisation": product.organisation},
            )
        with node.engine.connect() as connection:
            stored = connection.execute(
                select(t.products.c.organisation_id).where(t.products.c.id == product.id)
            ).first()
        if stored is not None and stored.organisation_id != own:
            raise PermissionDenied(
                f"product {product.id!r} belongs to another organisation: it cannot be replaced",
                details={"product": product.id},
            )
    try:
        registered = await run_in_threadpool(MasterData(node.engine).register_product, product, jurisdiction)
    except SQLIntegrityError:
        # The only unique column a product shares with others is its GTIN.
        raise Conflict(
            f"the GTIN {product.gtin} is registered to another product", details={"gtin": product.gtin}
        ) from None
    return _product(registered)
