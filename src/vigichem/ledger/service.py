"""The ledger's operations: capture, verify, checkpoint, and RFC 9162 proofs.

Capture runs parse → schema and semantic validation → CBV 2.0 hash IDs → indexing → one atomic append. Any
error before the append raises (``InvalidDocument`` with JSON-pointer ``details["errors"]``,
``InputTooLarge``, ...) and stores nothing.

**Checkpoints.** Each capture that adds events signs a checkpoint of the new tree inside the same
transaction, when the caller holds the node key: the acknowledgement of a capture therefore carries a signed
tree head that covers it, and every acknowledged event is pinned by a signature. Signing costs one Ed25519
signature (tens of microseconds) and the root comes from the stored frontier in O(log n), so this is cheap for
batched captures; a node ingesting many single-event documents pays one signature per capture, and
verification checks one signature per checkpoint. :func:`checkpoint` signs one on demand.
"""

from __future__ import annotations

import json
from typing import Any

from vigichem.errors import InvalidDocument, InvalidInput
from vigichem.ledger.extensions import NAMESPACE, namespace_prefixes
from vigichem.ledger.hashid import document_events, namespaces_from_context
from vigichem.ledger.hashing import event_hash_id, event_hash_ids
from vigichem.ledger.indexing import index_event
from vigichem.ledger.models import CaptureResult, Checkpoint, ConsistencyProof, InclusionProof, VerifyReport
from vigichem.ledger.store import CheckpointSigner, DocumentMeta, LedgerStore
from vigichem.ledger.verification import verify_store
from vigichem.ledger.verify_support import gc_paused
from vigichem.settings import get_settings

__all__ = [
    "DECLARATION_KEY",
    "capture",
    "checkpoint",
    "consistency_proof",
    "inclusion_proof",
    "ledger_hash_ids",
    "prepare",
    "verify",
]


DECLARATION_KEY = NAMESPACE + "errorDeclaration"
"""Where a declaration's ``errorDeclaration`` goes when its ledger identity is computed."""


def ledger_hash_ids(document: dict[str, Any]) -> list[str]:
    """The ledger identities of a document's events, in document order.

    An event's identity is its CBV 2.0 Event Hash ID. CBV leaves ``errorDeclaration`` out of that hash on
    purpose (a declaration names the event it corrects by the same ID), so an error declaration would be
    taken for a duplicate of the event it declares erroneous. Its ledger identity is therefore the Event
    Hash ID of the event with the ``errorDeclaration`` object hashed as the extension field
    ``https://vigichem.org/epcis/ext/errorDeclaration``: distinct from the original, stable, and
    recomputable from the stored JSON. The CBV hash ID it declares erroneous is :func:`event_hash_ids`'s.
    """
    hash_ids = list(event_hash_ids(document))
    event_list = document_events(document)
    namespaces: dict[str, str] | None = None
    for position, event in enumerate(event_list):
        if isinstance(event, dict) and "errorDeclaration" in event:
            if namespaces is None:
                namespaces = namespaces_from_context(document.get("@context"))
            as_extension = {key: value for key, value in event.items() if key != "errorDeclaration"}
            as_extension[DECLARATION_KEY] = event["errorDeclaration"]
            hash_ids[position] = event_hash_id(as_extension, namespaces)
    return hash_ids


def prepare(
    raw_or_doc: bytes | str | dict[str, Any], max_bytes: int | None = None
) -> tuple[list[Any], DocumentMeta]:
    """Parse, validate, hash and index a document without storing it (everything before the append)."""
    with gc_paused():  # allocation-heavy and cycle-free: see gc_paused
        return _prepare(raw_or_doc, max_bytes)


def _prepare(
    raw_or_doc: bytes | str | dict[str, Any], max_bytes: int | None
) -> tuple[list[Any], DocumentMeta]:
    from vigichem.ledger.validation import parse_document, validate_document

    limit = max_bytes if max_bytes is not None else get_settings().max_document_bytes
    document = raw_or_doc if isinstance(raw_or_doc, dict) else parse_document(raw_or_doc, limit)
    validate_document(document)
    body = document.get("epcisBody")
    event_list = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(event_list, list):
        raise InvalidDocument(
            "/epcisBody/eventList: an EPCISDocument needs an event list",
            details={"errors": [{"path": "/epcisBody/eventList", "message": "required"}]},
        )
    hash_ids = ledger_hash_ids(document)
    context = document.get("@context")
    prefixes = namespace_prefixes(context)  # the extension prefixes, read from the context once
    indexed = [
        index_event(event, hash_id, prefixes, f"/epcisBody/eventList/{position}")
        for position, (event, hash_id) in enumerate(zip(event_list, hash_ids, strict=True))
    ]
    header = {key: value for key, value in document.items() if key not in ("epcisBody", "@context")}
    meta = DocumentMeta(
        context_json=json.dumps(context, ensure_ascii=False, separators=(",", ":")),
        epcis_document_id=document.get("id") if isinstance(document.get("id"), str) else None,
        header_json=json.dumps(header, ensure_ascii=False, separators=(",", ":")),
    )
    return indexed, meta


def capture(
    store: LedgerStore,
    raw_or_doc: bytes | str | dict[str, Any],
    *,
    signer: CheckpointSigner | None = None,
    max_bytes: int | None = None,
) -> CaptureResult:
    """Capture one EPCISDocument (bytes, text or parsed): all of it or nothing; duplicates are no-ops."""
    indexed, meta = prepare(raw_or_doc, max_bytes)
    return store.append(indexed, meta, signer)


def verify(store: LedgerStore, public_key: bytes, *, workers: int | None = None) -> VerifyReport:
    """Recompute every hash ID, leaf, position and root from storage; name the first discrepancy.

    ``workers``: processes checking seq ranges in parallel (None: one per CPU for a ledger of more than one
    chunk; 1: this process only). See :mod:`vigichem.ledger.verification`.
    """
    return verify_store(store, public_key, ledger_hash_ids, workers=workers)


def checkpoint(store: LedgerStore, signer: CheckpointSigner) -> Checkpoint:
    """Sign a checkpoint of the log as it is now (captures sign their own; this is for on-demand heads)."""
    return store.sign_current(signer)


def inclusion_proof(store: LedgerStore, hash_id: str, tree_size: int | None = None) -> InclusionProof:
    """The RFC 9162 inclusion proof of an event (by hash ID) in the tree of ``tree_size`` (default: all)."""
    seq = store.seq_of(hash_id)
    tree = store.tree()
    size = tree.size if tree_size is None else tree_size
    if not 0 < size <= tree.size:
        raise InvalidInput(f"tree size {size} is out of range: the log holds {tree.size} events")
    if seq >= size:
        raise InvalidInput(f"event {hash_id} is at seq {seq}, outside the tree of size {size}")
    return InclusionProof(
        hash_id=hash_id,
        leaf_index=seq,
        tree_size=size,
        leaf_hash=tree.leaf(seq),
        root=tree.root(size),
        proof=tree.inclusion_proof(seq, size),
    )


def consistency_proof(store: LedgerStore, size1: int, size2: int | None = None) -> ConsistencyProof:
    """The RFC 9162 consistency proof that the tree of ``size2`` extends the tree of ``size1``."""
    tree = store.tree()
    end = tree.size if size2 is None else size2
    if not 0 < size1 <= end <= tree.size:
        raise InvalidInput(
            f"sizes must satisfy 0 < size1 <= size2 <= {tree.size} (the log's size); got {size1} and {end}"
        )
    return ConsistencyProof(
        size1=size1,
        size2=end,
        root1=tree.root(size1),
        root2=tree.root(end),
        proof=tree.consistency_proof(size1, end),
    )
