"""Ledger routes: capture, event queries, checkpoints and RFC 9162 proofs.

* ``POST /capture`` — an EPCISDocument (JSON body, at most ``max_document_bytes``): 201 with the new hash IDs
  and the signed checkpoint covering them, or 200 when every event was already captured (a no-op); errors
  in the envelope: 400 malformed, 413 too large, 422 schema or semantic violations (JSON pointers in
  ``details.errors``).
* ``GET /events`` — EPCIS 2.0 query parameters → ``EPCISQueryDocument``; the next page is in the
  ``Link: <...>; rel="next"`` header (EPCIS REST binding) and ``GS1-Next-Page-Token`` header.
* ``GET /checkpoint`` — the latest signed checkpoint (signing a fresh one when the log grew since) and the
  node's public key.
* ``GET /proof/inclusion?hashId=&treeSize=`` and ``GET /proof/consistency?size1=&size2=`` — proofs with
  base64 hashes, to check with :mod:`vigichem.ledger.merkle`'s verifiers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from vigichem.api.app import get_node
from vigichem.api.errors import MalformedDocument
from vigichem.errors import InputTooLarge, InvalidDocument, NotFound
from vigichem.ledger import service
from vigichem.ledger.node import Node
from vigichem.ledger.query import EventQuery, query_document, run_query
from vigichem.ledger.validation import parse_document

__all__ = ["router"]

router = APIRouter(tags=["ledger"])
NodeDep = Annotated[Node, Depends(get_node)]


@router.post("/capture", status_code=201)
async def capture(request: Request, node: NodeDep) -> JSONResponse:
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
    result = await run_in_threadpool(
        service.capture, node.store, document, signer=node.signer, max_bytes=limit
    )
    return JSONResponse(result.to_dict(), status_code=201 if result.new else 200)


@router.get("/events")
def events(request: Request, response: Response, node: NodeDep) -> dict[str, Any]:
    """EPCIS 2.0 event query (SimpleEventQuery parameters) returning an EPCISQueryDocument."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    page = run_query(node.store, EventQuery.from_params(params))
    if page.next_page_token is not None:
        next_url = request.url.include_query_params(nextPageToken=page.next_page_token)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
        response.headers["GS1-Next-Page-Token"] = page.next_page_token
    response.headers["GS1-EPCIS-Version"] = "2.0.0"
    response.headers["GS1-CBV-Version"] = "2.0.0"
    return query_document(page)


@router.get("/checkpoint")
def checkpoint(node: NodeDep) -> dict[str, Any]:
    """The latest signed checkpoint and the key that signs it."""
    latest = node.store.latest_checkpoint()
    tree_size, _root = node.store.log_state()
    signer = node.signer
    if (latest is None or latest.tree_size != tree_size) and signer is not None:
        latest = service.checkpoint(node.store, signer)
    if latest is None:
        raise NotFound("this node has no checkpoint yet and holds no key to sign one")
    return {"checkpoint": latest.to_dict(), "node": node.identity.to_dict()}


@router.get("/proof/inclusion")
def inclusion(
    node: NodeDep,
    hash_id: Annotated[str, Query(alias="hashId", min_length=1, max_length=200)],
    tree_size: Annotated[int | None, Query(alias="treeSize", gt=0)] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of the event with ``hashId`` in the tree of ``treeSize`` leaves."""
    return service.inclusion_proof(node.store, hash_id, tree_size).to_dict()


@router.get("/proof/consistency")
def consistency(
    node: NodeDep,
    size1: Annotated[int, Query(gt=0)],
    size2: Annotated[int | None, Query(gt=0)] = None,
) -> dict[str, Any]:
    """RFC 9162 consistency proof between the trees of ``size1`` and ``size2`` leaves."""
    return service.consistency_proof(node.store, size1, size2).to_dict()
