"""Custody ledger (GS1 EPCIS 2.0, RFC 9162 Merkle log, mass balance).

Capture EPCIS 2.0 documents into an append-only, hash-identified ledger (:func:`capture`), query them back
(:class:`EventQuery`, :func:`run_query`, :func:`query_document`), verify everything from storage
(:func:`verify`), sign checkpoints and serve RFC 9162 proofs (:func:`inclusion_proof`,
:func:`consistency_proof`; verifiers in :mod:`vigichem.ledger.merkle`). A node (:func:`init_node`,
:func:`load_node`) holds the database and the Ed25519 key. See ``docs/ledger.md``.
"""

from vigichem.ledger import merkle
from vigichem.ledger.db import create_engine_from_settings, create_engine_from_url, migrate
from vigichem.ledger.hashid import event_hash_id, event_hash_ids
from vigichem.ledger.models import (
    CaptureResult,
    Checkpoint,
    ConsistencyProof,
    Discrepancy,
    DiscrepancyKind,
    InclusionProof,
    NodeIdentity,
    StoredEvent,
    VerifyReport,
)
from vigichem.ledger.node import Node, init_node, load_node
from vigichem.ledger.query import EventQuery, QueryPage, query_document, run_query
from vigichem.ledger.service import (
    capture,
    checkpoint,
    consistency_proof,
    inclusion_proof,
    ledger_hash_ids,
    verify,
)
from vigichem.ledger.store import LedgerStore

__all__ = [
    "CaptureResult",
    "Checkpoint",
    "ConsistencyProof",
    "Discrepancy",
    "DiscrepancyKind",
    "EventQuery",
    "InclusionProof",
    "LedgerStore",
    "Node",
    "NodeIdentity",
    "QueryPage",
    "StoredEvent",
    "VerifyReport",
    "capture",
    "checkpoint",
    "consistency_proof",
    "create_engine_from_settings",
    "create_engine_from_url",
    "event_hash_id",
    "event_hash_ids",
    "inclusion_proof",
    "init_node",
    "ledger_hash_ids",
    "load_node",
    "merkle",
    "migrate",
    "query_document",
    "run_query",
    "verify",
]
