"""Typed records of the ledger: capture results, stored events, checkpoints, verification reports, proofs."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "CaptureResult",
    "Checkpoint",
    "ConsistencyProof",
    "Discrepancy",
    "DiscrepancyKind",
    "InclusionProof",
    "NodeIdentity",
    "StoredEvent",
    "VerifyReport",
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What one capture did: the new events' hash IDs (in log order), the duplicates, the log size after."""

    new: list[str]
    duplicates: list[str]
    tree_size: int
    first_seq: int
    document_id: int | None
    checkpoint: Checkpoint | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as the API and the CLI's ``--json`` return it."""
        return {
            "new": list(self.new),
            "duplicates": list(self.duplicates),
            "treeSize": self.tree_size,
            "firstSeq": self.first_seq,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as stored: its log index, hash ID, capture time and the event JSON as captured."""

    seq: int
    hash_id: str
    record_time: datetime
    event: dict[str, Any]
    context: Any
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed tree head: the log's size and root at a time, signed with the node's Ed25519 key."""

    tree_size: int
    root: bytes
    time: datetime
    signature: bytes
    key_id: str

    def signed_text(self) -> bytes:
        """The exact bytes the signature covers (see :func:`vigichem.ledger.checkpoints.checkpoint_text`)."""
        from vigichem.ledger.checkpoints import checkpoint_text

        return checkpoint_text(self.key_id, self.tree_size, self.root, self.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hashes and signature in standard base64, time in ISO 8601 UTC."""
        return {
            "treeSize": self.tree_size,
            "root": _b64(self.root),
            "time": self.time.isoformat(timespec="microseconds") + "Z",
            "signature": _b64(self.signature),
            "keyId": self.key_id,
        }


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """The node: its name, country (ISO 3166-1 alpha-2) and Ed25519 public key."""

    name: str
    country: str
    key_id: str
    public_key: bytes
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "country": self.country,
            "keyId": self.key_id,
            "publicKey": _b64(self.public_key),
            "createdAt": self.created_at.isoformat() + "Z",
        }


class DiscrepancyKind(StrEnum):
    """How stored data departs from the log: the kinds ``vigichem verify`` names."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    CHECKPOINT = "checkpoint"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """The first place where storage does not verify: the event (seq, hash ID) and what happened to it."""

    kind: DiscrepancyKind
    seq: int | None
    hash_id: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": str(self.kind), "seq": self.seq, "hashId": self.hash_id, "message": self.message}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of recomputing the ledger from storage."""

    ok: bool
    tree_size: int
    root: bytes
    checkpoints_checked: int
    discrepancy: Discrepancy | None = None
    latest_checkpoint: Checkpoint | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "treeSize": self.tree_size,
            "root": _b64(self.root),
            "checkpointsChecked": self.checkpoints_checked,
            "discrepancy": self.discrepancy.to_dict() if self.discrepancy else None,
        }


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An RFC 9162 inclusion proof of one event's leaf in the tree of ``tree_size`` leaves."""

    hash_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (base64 hashes)."""
        return {
            "hashId": self.hash_id,
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "leafHash": _b64(self.leaf_hash),
            "root": _b64(self.root),
            "proof": [_b64(item) for item in self.proof],
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """An RFC 9162 consistency proof between the trees of ``size1`` and ``size2`` leaves."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (base64 hashes)."""
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1": _b64(self.root1),
            "root2": _b64(self.root2),
            "proof": [_b64(item) for item in self.proof],
        }
