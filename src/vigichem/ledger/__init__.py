"""Custody ledger (GS1 EPCIS 2.0, RFC 9162 Merkle log, mass balance).

Capture EPCIS 2.0 documents into an append-only, hash-identified ledger (:func:`capture`), query them back
(:class:`EventQuery`, :func:`run_query`, :func:`query_document`), verify everything from storage
(:func:`verify`), sign checkpoints and serve RFC 9162 proofs (:func:`inclusion_proof`,
:func:`consistency_proof`; verifiers in :mod:`vigichem.ledger.merkle`). A node (:func:`init_node`,
:func:`load_node`) holds the database and the Ed25519 key. See ``docs/ledger.md``.
"""

from typing import TYPE_CHECKING

from vigichem._lazy import lazy_attributes
from vigichem.ledger import merkle
from vigichem.ledger.db import create_engine_from_settings, create_engine_from_url, migrate
from vigichem.ledger.hashing import event_hash_id, event_hash_ids
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
from vigichem.ledger.pipeline import capture_many
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
from vigichem.ledger.units import to_base
from vigichem.ledger.validation import parse_document, validate_document

if TYPE_CHECKING:
    from vigichem.ledger.balance import compute_balance
    from vigichem.ledger.balance_models import BalanceReport
    from vigichem.ledger.csv_import import import_csv
    from vigichem.ledger.masterdata import MasterData
    from vigichem.ledger.vault import Vault

# Master data, balance and CSV import screen compositions with RDKit: imported on first use, so that
# capture, verification and the CLI start without loading the chemistry stack.
_LAZY = {
    "BalanceReport": "vigichem.ledger.balance_models",
    "MasterData": "vigichem.ledger.masterdata",
    "Vault": "vigichem.ledger.vault",
    "compute_balance": "vigichem.ledger.balance",
    "import_csv": "vigichem.ledger.csv_import",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "BalanceReport",
    "CaptureResult",
    "Checkpoint",
    "ConsistencyProof",
    "Discrepancy",
    "DiscrepancyKind",
    "EventQuery",
    "InclusionProof",
    "LedgerStore",
    "MasterData",
    "Node",
    "NodeIdentity",
    "QueryPage",
    "StoredEvent",
    "Vault",
    "VerifyReport",
    "capture",
    "capture_many",
    "checkpoint",
    "compute_balance",
    "consistency_proof",
    "create_engine_from_settings",
    "create_engine_from_url",
    "event_hash_id",
    "event_hash_ids",
    "import_csv",
    "inclusion_proof",
    "init_node",
    "ledger_hash_ids",
    "load_node",
    "merkle",
    "migrate",
    "parse_document",
    "query_document",
    "run_query",
    "to_base",
    "validate_document",
    "verify",
]
