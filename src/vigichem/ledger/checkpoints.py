"""Signed checkpoints of the log and the compact "frontier" that keeps the root current in O(log n).

A checkpoint is a signed tree head. The signed bytes follow the C2SP ``tlog-checkpoint`` layout (origin line,
decimal tree size, base64 root, then extension lines), with the time as an extension line::

    vigichem/ed25519:3f1c...\n
    1024\n
    bWVya2xlIHJvb3Q...=\n
    time 2026-11-23T11:30:00.123456Z\n

The frontier is the list of roots of the complete subtrees on the right edge of the tree (largest first;
one per set bit of the tree size). Appending a leaf merges equal-sized subtrees, and the RFC 9162 root is
the frontier folded from the right, so the store signs a checkpoint after every capture without rereading
the log.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vigichem.ledger.merkle import EMPTY_ROOT, node_hash
from vigichem.ledger.models import Checkpoint

__all__ = [
    "append_to_frontier",
    "checkpoint_text",
    "frontier_from_bytes",
    "frontier_root",
    "frontier_to_bytes",
    "key_id_of",
    "sign_checkpoint",
    "signature_valid",
]

_HASH_SIZE = 32


def key_id_of(public_key: bytes) -> str:
    """A short, stable name of an Ed25519 public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


def checkpoint_text(key_id: str, tree_size: int, root: bytes, time: datetime) -> bytes:
    """The exact bytes a checkpoint signature covers (time is naive UTC)."""
    stamp = time.isoformat(timespec="microseconds") + "Z"
    return (
        f"vigichem/{key_id}\n{tree_size}\n{base64.b64encode(root).decode('ascii')}\ntime {stamp}\n"
    ).encode("ascii")


def sign_checkpoint(
    key: Ed25519PrivateKey, key_id: str, tree_size: int, root: bytes, time: datetime
) -> Checkpoint:
    """A checkpoint of ``tree_size`` and ``root`` at ``time``, signed with the node key."""
    signature = key.sign(checkpoint_text(key_id, tree_size, root, time))
    return Checkpoint(tree_size=tree_size, root=root, time=time, signature=signature, key_id=key_id)


def signature_valid(checkpoint: Checkpoint, public_key: bytes) -> bool:
    """Whether the checkpoint's signature verifies under the raw Ed25519 ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(checkpoint.signature, checkpoint.signed_text())
    except (InvalidSignature, ValueError):
        return False
    return True


def frontier_from_bytes(data: bytes) -> list[bytes]:
    """The frontier stored as concatenated 32-byte hashes."""
    return [data[i : i + _HASH_SIZE] for i in range(0, len(data), _HASH_SIZE)]


def frontier_to_bytes(frontier: list[bytes]) -> bytes:
    """The frontier as concatenated 32-byte hashes."""
    return b"".join(frontier)


def append_to_frontier(frontier: list[bytes], tree_size: int, leaf_hashes: Iterable[bytes]) -> int:
    """Append leaves to ``frontier`` (in place) for a tree of ``tree_size``; return the new size."""
    size = tree_size
    for leaf in leaf_hashes:
        frontier.append(leaf)
        # Each trailing 1-bit of the old size is a complete subtree of the new leaf's size: merge them.
        carry = size
        while carry & 1:
            right = frontier.pop()
            frontier[-1] = node_hash(frontier[-1], right)
            carry >>= 1
        size += 1
    return size


def frontier_root(frontier: list[bytes]) -> bytes:
    """The RFC 9162 root of the tree whose frontier this is."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root
