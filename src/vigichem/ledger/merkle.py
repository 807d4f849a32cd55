"""RFC 9162 Merkle tree: hashes, roots, inclusion and consistency proofs, and their verifiers.

The ledger's event hash IDs enter an append-only log in capture order. This module follows RFC 9162
(Certificate Transparency 2.0) section 2.1 exactly, with SHA-256:

* ``leaf_hash(d) = SHA-256(0x00 || d)`` and ``node_hash(l, r) = SHA-256(0x01 || l || r)``;
* the Merkle Tree Hash of n > 1 leaves splits at the largest power of two k < n:
  ``MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))``; the empty tree hashes to SHA-256 of "";
* inclusion proofs (section 2.1.3) and consistency proofs (section 2.1.4) are lists of node hashes,
  nearest the leaf first, and the verifiers are the algorithms of sections 2.1.3.2 and 2.1.4.2.

Edge cases the RFC leaves to the implementer follow the transparency-dev/merkle reference verifier (and
its test vectors): a consistency proof between equal sizes is empty and the two roots must be equal;
a consistency proof from the empty tree (size1 = 0) is refused, because it proves nothing.

:class:`MerkleTree` keeps the hash of every *complete* aligned subtree (``levels[k][i]`` covers leaves
``i·2^k … (i+1)·2^k − 1``), so a tree of a million leaves answers proofs for any index, and roots for any
earlier size, in O(log n) hashes; appending a leaf costs O(1) amortised. The leaf data of the ledger is
the ASCII text of an event hash ID (see :func:`event_leaf_hash`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from vigichem.errors import InvalidInput, ProofError

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "consistency_proof",
    "event_leaf_hash",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_HASH_SIZE = 32

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""The root hash of the empty tree (RFC 9162 section 2.1.1: the hash of an empty string)."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def event_leaf_hash(hash_id: str) -> bytes:
    """The leaf hash under which the ledger logs an event: the leaf data is its hash ID in ASCII.

    Logging the hash ID text (``ni:///sha-256;…?ver=CBV2.0``) rather than its digest lets a third party
    check a proof from nothing but the event's published hash ID.
    """
    return leaf_hash(hash_id.encode("ascii"))


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): RFC 9162's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


def _pair_up(level: Sequence[bytes]) -> list[bytes]:
    """Hash adjacent pairs of a level; a trailing odd node is left out (it is not a complete subtree)."""
    sha = _sha256
    prefix = _NODE_PREFIX
    return [
        sha(prefix + left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=False)
    ]


class MerkleTree:
    """An append-only RFC 9162 tree that keeps the hashes of all its complete subtrees.

    ``levels[0]`` are the leaf hashes; ``levels[k][i]`` is the hash of the complete subtree of ``2^k``
    leaves starting at leaf ``i·2^k``. A level holds ``size >> k`` hashes, so a store can persist the
    levels and rebuild the tree with :meth:`from_levels` without rehashing.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [list(leaf_hashes)]
        self._rebuild_upper_levels()

    @classmethod
    def from_levels(cls, levels: Sequence[Sequence[bytes]]) -> MerkleTree:
        """A tree from previously stored :attr:`levels` (each level must hold ``size >> k`` hashes)."""
        tree = cls.__new__(cls)
        tree._levels = [list(level) for level in levels] or [[]]
        size = len(tree._levels[0])
        for k, level in enumerate(tree._levels):
            if len(level) != size >> k:
                raise InvalidInput(
                    f"Merkle level {k} holds {len(level)} hashes; a tree of {size} leaves needs {size >> k}"
                )
        while size >> len(tree._levels):
            tree._levels.append([])
        tree._fill_missing_levels()
        return tree

    def _rebuild_upper_levels(self) -> None:
        del self._levels[1:]
        self._fill_missing_levels()

    def _fill_missing_levels(self) -> None:
        """Compute any level that is shorter than it should be (used after bulk construction)."""
        k = 0
        while len(self._levels[k]) >= 2:
            expected_above = len(self._levels[k]) >> 1
            if k + 1 == len(self._levels):
                self._levels.append([])
            above = self._levels[k + 1]
            if len(above) < expected_above:
                below = self._levels[k]
                start = len(above) * 2
                above.extend(_pair_up(below[start : expected_above * 2]))
            k += 1

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.size

    @property
    def levels(self) -> list[list[bytes]]:
        """The complete-subtree hashes, level by level (a copy of the lists, safe to persist)."""
        return [list(level) for level in self._levels]

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        return self._levels[0][index]

    def append(self, leaf_hash_value: bytes) -> int:
        """Append one leaf hash; returns its index. Costs O(1) hashes amortised."""
        levels = self._levels
        levels[0].append(leaf_hash_value)
        index = len(levels[0]) - 1
        k = 0
        # A new complete subtree at level k+1 closes each time level k reaches an even length.
        while len(levels[k]) % 2 == 0:
            if k + 1 == len(levels):
                levels.append([])
            levels[k + 1].append(node_hash(levels[k][-2], levels[k][-1]))
            k += 1
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes at once (level by level, faster than repeated :meth:`append`)."""
        self._levels[0].extend(leaf_hashes)
        self._fill_missing_levels()

    def _check_size(self, tree_size: int, what: str = "tree size") -> None:
        if not 0 <= tree_size <= self.size:
            raise InvalidInput(f"{what} {tree_size} is outside the log (0 … {self.size})")

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that RFC 9162's recursion produces (start aligned, end <= size)."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            k = width.bit_length() - 1
            return self._levels[k][start >> k]
        split = _largest_power_of_two_below(width)
        return node_hash(self._subtree(start, start + split), self._subtree(start + split, end))

    def root(self, tree_size: int | None = None) -> bytes:
        """The root hash of the first ``tree_size`` leaves (all leaves by default)."""
        size = self.size if tree_size is None else tree_size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._subtree(0, size)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """The RFC 9162 section 2.1.3.1 audit path of leaf ``index`` in the tree of ``tree_size`` leaves."""
        size = self.size if tree_size is None else tree_size
        self._check_size(size)
        if not 0 <= index < size:
            raise InvalidInput(f"leaf index {index} is outside a tree of {size} leaves")
        path: list[bytes] = []
        start, end = 0, size
        # Walk down from the root collecting the sibling subtree at each split; reversed, it reads
        # from the leaf upwards as the RFC orders it.
        while end - start > 1:
            split = start + _largest_power_of_two_below(end - start)
            if index < split:
                path.append(self._subtree(split, end))
                end = split
            else:
                path.append(self._subtree(start, split))
                start = split
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The RFC 9162 section 2.1.4.1 proof that the tree of ``size1`` leaves is a prefix of ``size2``.

        Empty when ``size1`` is 0 or equal to ``size2`` (nothing to prove).
        """
        second = self.size if size2 is None else size2
        self._check_size(second, "size2")
        if not 0 <= size1 <= second:
            raise InvalidInput(f"size1 {size1} must lie between 0 and size2 {second}")
        if size1 in (0, second):
            return []
        proof: list[bytes] = []
        start, end, complete = 0, second, True
        # SUBPROOF(m, D[start:end], b) unrolled: each step records the sibling of the side holding m.
        while True:
            m = size1 - start
            if m == end - start:
                if not complete:
                    proof.append(self._subtree(start, end))
                break
            split = _largest_power_of_two_below(end - start)
            if m <= split:
                proof.append(self._subtree(start + split, end))
                end = start + split
            else:
                proof.append(self._subtree(start, start + split))
                start += split
                complete = False
        proof.reverse()
        return proof


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 Merkle Tree Hash over ``leaf_hashes`` (already leaf-hashed), computed level by level.

    Carrying an odd last node up a level unchanged yields the same root as the RFC's split at the largest
    power of two, and keeps the work to one pass per level.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = _pair_up(level)
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``tree_size`` of ``leaf_hashes``."""
    if not 0 <= tree_size <= len(leaf_hashes):
        raise InvalidInput(f"tree size {tree_size} is outside the {len(leaf_hashes)} leaves given")
    return MerkleTree(leaf_hashes[:tree_size]).inclusion_proof(index)


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """The consistency proof between the trees of the first ``size1`` and ``size2`` of ``leaf_hashes``."""
    if not 0 <= size2 <= len(leaf_hashes):
        raise InvalidInput(f"size2 {size2} is outside the {len(leaf_hashes)} leaves given")
    return MerkleTree(leaf_hashes[:size2]).consistency_proof(size1)


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> None:
    """Check an RFC 9162 inclusion proof (section 2.1.3.2); raise :class:`ProofError` if it fails.

    ``leaf_hash`` is the leaf's hash (``SHA-256(0x00 || data)``), ``index`` its 0-based position, and
    ``proof`` the audit path nearest the leaf first.
    """
    if index < 0 or index >= tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    if len(leaf_hash) != _HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf_hash)} bytes; a SHA-256 leaf hash has {_HASH_SIZE}")
    fn, sn = index, tree_size - 1
    result = leaf_hash
    for position, sibling in enumerate(proof):
        if sn == 0:
            raise ProofError(
                f"inclusion proof has {len(proof)} hashes, more than a tree of {tree_size} leaves needs "
                f"for leaf {index} (extra hash at position {position})"
            )
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                # fn is the last node of its level: skip the levels where it has no right sibling.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes, fewer than a tree of {tree_size} leaves needs "
            f"for leaf {index}"
        )
    if result != root:
        raise ProofError(
            f"inclusion proof of leaf {index} in a tree of {tree_size} leaves computes root "
            f"{result.hex()}, not the expected {root.hex()}"
        )


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Check an RFC 9162 consistency proof (section 2.1.4.2); raise :class:`ProofError` if it fails.

    ``root1`` is the root of the first ``size1`` leaves, ``root2`` of the first ``size2``; ``proof`` is
    as :meth:`MerkleTree.consistency_proof` (and any RFC 9162 log) produces it.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 ({size1}) must lie between 0 and size2 ({size2})")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree (size1 = 0) proves nothing; refused")
    if size1 == size2:
        if proof:
            raise ProofError(f"sizes are equal ({size1}) but the proof is not empty ({len(proof)} hashes)")
        if root1 != root2:
            raise ProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    if not proof:
        raise ProofError(f"empty consistency proof between sizes {size1} and {size2}")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a complete subtree of the new one: its root starts the path (step 2).
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for position, node in enumerate(path[1:], start=1):
        if sn == 0:
            raise ProofError(
                f"consistency proof between sizes {size1} and {size2} is too long "
                f"(extra hash at position {position})"
            )
        if fn & 1 or fn == sn:
            first_result = node_hash(node, first_result)
            second_result = node_hash(node, second_result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second_result = node_hash(second_result, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof between sizes {size1} and {size2} is too short")
    if first_result != root1:
        raise ProofError(
            f"consistency proof computes root {first_result.hex()} for size {size1}, "
            f"not the expected {root1.hex()}"
        )
    if second_result != root2:
        raise ProofError(
            f"consistency proof computes root {second_result.hex()} for size {size2}, "
            f"not the expected {root2.hex()}"
        )
