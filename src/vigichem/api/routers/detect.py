"""Detection routes: ``POST /decide`` — the point-of-sale decision for a proposed sale.

The body is a proposed sale as :class:`vigichem.detect.decide.ProposedSale` documents it (``product`` or
``composition``, ``quantity``, ``unit``, ``customer_type``, ``party_ref``, ``payment``, ``id_verified``,
``delivery_type``, ``delivery_ref``, ``stated_use``, ``licence``, ``site``, ``time``, ``jurisdiction``). The
answer is :meth:`vigichem.detect.decide.Decision.to_dict`. Errors use the API's envelope: 400 for a malformed
sale (naming the field), 404 for a product that is not registered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool

from vigichem.api.app import get_node
from vigichem.detect.decide import Decider, parse_proposed_sale
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.node import Node

__all__ = ["router"]

router = APIRouter(tags=["detection"])
NodeDep = Annotated[Node, Depends(get_node)]


def _decider(request: Request, node: Node) -> Decider:
    """One decider per app (its product catalogue is reloaded when a product is not found)."""
    decider: Decider | None = getattr(request.app.state, "decider", None)
    if decider is None or decider.engine is not node.engine:
        decider = Decider(node.engine)
        request.app.state.decider = decider
    return decider


@router.post("/decide")
async def decide(request: Request, node: NodeDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Decide on a proposed sale: allow, allow_and_report, licence_required or refuse, with reasons."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object describing the proposed sale")
    sale = parse_proposed_sale(body)
    decider = _decider(request, node)

    def run() -> dict[str, Any]:
        try:
            return decider.decide(sale).to_dict()
        except NotFound:
            decider.catalogue.refresh()  # master data may have been loaded since the decider was built
            return decider.decide(sale).to_dict()

    return await run_in_threadpool(run)
