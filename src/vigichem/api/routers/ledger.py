"""Ledger routes: capture, event queries, checkpoints, RFC 9162 proofs and verification.

* ``POST /capture`` (``events:capture``) — an EPCISDocument (JSON body, at most ``max_document_bytes``): 201
  with the new hash IDs and the signed checkpoint covering them, or 200 when every event was already
  captured (a no-op); errors in the envelope: 400 malformed, 413 too large, 422 schema or semantic
  violations (JSON pointers in ``details.errors``), 403 when an operator captures an event whose
  ``bizLocation`` is not one of its own sites (nothing is stored).
* ``GET /events`` (``events:read``) — EPCIS 2.0 query parameters → ``EPCISQueryDocument`` of the events the
  caller's tenancy shows; the next page is in the ``Link: <...>; rel="next"`` header (EPCIS REST binding)
  and ``GS1-Next-Page-Token`` header. ``GET /events/{hashId}`` — one event (404 when not visible).
* ``GET /checkpoint``, ``GET /proof/inclusion?hashId=&treeSize=``, ``GET /proof/consistency?size1=&size2=``
  (``ledger:read``) — the signed head and proofs (hashes only, so every ledger reader may see them).
* ``POST /ledger/verify`` (``ledger:verify``) — recompute the whole ledger; the verification report.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from vigichem.accounts import Permission, Principal, policy
from vigichem.api.auth import requires
from vigichem.api.common import NodeDep, error_responses
from vigichem.api.errors import MalformedDocument
from vigichem.errors import InputTooLarge, InvalidDocument, NotFound
from vigichem.ledger import service
from vigichem.ledger.db import events as events_table
from vigichem.ledger.node import Node
from vigichem.ledger.query import EventQuery, event_for_output, query_document, run_query
from vigichem.ledger.validation import parse_document

__all__ = ["router"]

router = APIRouter(tags=["ledger"])
CaptureDep = Annotated[Principal, Depends(requires(Permission.EVENTS_CAPTURE))]
EventsDep = Annotated[Principal, Depends(requires(Permission.EVENTS_READ))]
ReaderDep = Annotated[Principal, Depends(requires(Permission.LEDGER_READ))]
VerifierDep = Annotated[Principal, Depends(requires(Permission.LEDGER_VERIFY))]


def _check_capture_sites(node: Node, principal: Principal, document: dict[str, Any]) -> None:
    with node.engine.connect() as connection:
        policy.check_capture_sites(connection, principal, document)


_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "An EPCISDocument."}}},
    }
}


@router.post(
    "/capture",
    status_code=201,
    openapi_extra=_DOCUMENT_BODY,
    summary="Capture an EPCIS 2.0 document",
    responses=error_responses(400, 403, 413),
)
async def capture(request: Request, node: NodeDep, principal: CaptureDep) -> JSONResponse:
    """Capture one EPCIS 2.0 document: all of it or nothing."""
    limit = request.app.state.node_holder.settings.max_document_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputTooLarge(
            f"the document is {declared} bytes, above the limit of {limit} bytes",
            details={"limit": limit, "size": int(declared)},
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise InputTooLarge(f"the document exceeds the limit of {limit} bytes", details={"limit": limit})
    try:
        document = parse_document(bytes(body), limit)
    except InvalidDocument as exc:
        raise MalformedDocument(exc.message, details=exc.details) from None
    await run_in_threadpool(_check_capture_sites, node, principal, document)
    result = await run_in_threadpool(
        service.capture, node.store, document, signer=node.signer, max_bytes=limit
    )
    return JSONResponse(result.to_dict(), status_code=201 if result.new else 200)


@router.get("/events", summary="EPCIS 2.0 event query", responses=error_responses(400, 403, 413))
def events(request: Request, response: Response, node: NodeDep, principal: EventsDep) -> dict[str, Any]:
    """EPCIS 2.0 event query (SimpleEventQuery parameters) returning an EPCISQueryDocument."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    query = EventQuery.from_params(params)
    query.conditions.append(policy.event_condition(principal))
    page = run_query(node.store, query)
    if page.next_page_token is not None:
        next_url = request.url.include_query_params(nextPageToken=page.next_page_token)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
        response.headers["GS1-Next-Page-Token"] = page.next_page_token
    response.headers["GS1-EPCIS-Version"] = "2.0.0"
    response.headers["GS1-CBV-Version"] = "2.0.0"
    return query_document(page)


@router.get("/events/{hash_id:path}", summary="One event by its hash ID", responses=error_responses(403, 404))
def event(
    node: NodeDep,
    principal: EventsDep,
    hash_id: Annotated[str, Path(min_length=1, max_length=200, description="Event Hash ID, URL-encoded.")],
) -> dict[str, Any]:
    """The event as captured (with ``eventID`` and ``recordTime``), if the caller's tenancy shows it."""
    found = node.store.select_events(
        [events_table.c.hash_id == hash_id, policy.event_condition(principal)], limit=1
    )
    if not found:
        raise NotFound(f"no event {hash_id!r}", details={"hashId": hash_id})
    return event_for_output(found[0], with_context=True)


@router.get("/checkpoint", summary="The latest signed checkpoint", responses=error_responses(403, 404))
def checkpoint(node: NodeDep, principal: ReaderDep) -> dict[str, Any]:
    """The latest signed checkpoint and the key that signs it."""
    latest = node.store.latest_checkpoint()
    tree_size, _root = node.store.log_state()
    signer = node.signer
    if (latest is None or latest.tree_size != tree_size) and signer is not None:
        latest = service.checkpoint(node.store, signer)
    if latest is None:
        raise NotFound("this node has no checkpoint yet and holds no key to sign one")
    return {"checkpoint": latest.to_dict(), "node": node.identity.to_dict()}


@router.get("/proof/inclusion", summary="RFC 9162 inclusion proof", responses=error_responses(400, 403, 404))
def inclusion(
    node: NodeDep,
    principal: ReaderDep,
    hash_id: Annotated[str, Query(alias="hashId", min_length=1, max_length=200)],
    tree_size: Annotated[int | None, Query(alias="treeSize", gt=0, le=2**62)] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of the event with ``hashId`` in the tree of ``treeSize`` leaves."""
    return service.inclusion_proof(node.store, hash_id, tree_size).to_dict()


@router.get("/proof/consistency", summary="RFC 9162 consistency proof", responses=error_responses(400, 403))
def consistency(
    node: NodeDep,
    principal: ReaderDep,
    size1: Annotated[int, Query(gt=0, le=2**62)],
    size2: Annotated[int | None, Query(gt=0, le=2**62)] = None,
) -> dict[str, Any]:
    """RFC 9162 consistency proof between the trees of ``size1`` and ``size2`` leaves."""
    return service.consistency_proof(node.store, size1, size2).to_dict()


@router.post("/ledger/verify", summary="Verify the whole ledger", responses=error_responses(403))
async def verify(node: NodeDep, principal: VerifierDep) -> dict[str, Any]:
    """Recompute every hash ID, leaf, position and root from storage and check the signed checkpoints.

    ``ok`` is false when something does not verify, with the first discrepancy named.
    """
    report = await run_in_threadpool(service.verify, node.store, node.identity.public_key)
    answer: dict[str, Any] = report.to_dict()
    return answer
