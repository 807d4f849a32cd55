"""RFC 9162 Merkle tree: the transparency-dev/merkle vectors, reference roots and Hypothesis properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigichem.errors import InvalidInput, ProofError
from vigichem.ledger import merkle
from vigichem.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "data" / "merkle-vectors"
INCLUSION_FILES = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((VECTORS / "consistency").rglob("*.json"))

# The classic Certificate-Transparency reference leaves and the roots of their first N (ORIGIN.md).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(item) for item in value or []]


def test_vector_counts_cover_the_whole_vendored_suite() -> None:
    # Guards against a glob that silently matches nothing.
    assert len(INCLUSION_FILES) > 90
    assert len(CONSISTENCY_FILES) > 80
    assert any(_load(p)["wantErr"] for p in INCLUSION_FILES)
    assert any(not _load(p)["wantErr"] for p in CONSISTENCY_FILES)


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path) -> None:
    vector = _load(path)
    args = (
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector["proof"]),
        _b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path) -> None:
    vector = _load(path)
    args = (
        vector["size1"],
        vector["size2"],
        _proof(vector["proof"]),
        _b64(vector["root1"]),
        _b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_happy_path_proofs_are_the_ones_we_generate() -> None:
    """Our generator emits byte for byte the proofs of the reference log (transparency-dev)."""
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    for path in INCLUSION_FILES:
        vector = _load(path)
        if vector["wantErr"] or vector["treeSize"] > len(leaves) or path.parent.name == "single-entry":
            continue
        assert inclusion_proof(leaves, vector["leafIdx"], vector["treeSize"]) == _proof(vector["proof"])
    for path in CONSISTENCY_FILES:
        vector = _load(path)
        if vector["wantErr"] or vector["size2"] > len(leaves) or path.parent.name == "additional":
            continue
        assert consistency_proof(leaves, vector["size1"], vector["size2"]) == _proof(vector["proof"])


def test_reference_roots_for_the_ct_leaves() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    tree = MerkleTree()
    for n, expected in enumerate(CT_ROOTS):
        assert root_hash(leaves[:n]).hex() == expected
        assert tree.root().hex() == expected
        if n < len(leaves):
            tree.append(leaves[n])
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    for n, expected in enumerate(CT_ROOTS):
        assert tree.root(n).hex() == expected


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.event_leaf_hash("ni:///sha-256;00?ver=CBV2.0") == leaf_hash(b"ni:///sha-256;00?ver=CBV2.0")


def _textbook_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 written literally (recursive split at the largest power of two)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(_textbook_root(leaves[:k]), _textbook_root(leaves[k:]))


def _leaves(count: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(count)]


@given(st.integers(min_value=0, max_value=300))
def test_root_matches_textbook_definition(count: int) -> None:
    leaves = _leaves(count)
    expected = _textbook_root(leaves)
    assert root_hash(leaves) == expected
    assert MerkleTree(leaves).root() == expected


@given(st.data())
@settings(max_examples=150)
def test_every_inclusion_proof_verifies_and_a_flipped_bit_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=200), label="size")
    leaves = _leaves(size, salt=size)
    tree = MerkleTree(leaves)
    tree_size = data.draw(st.integers(min_value=1, max_value=size), label="tree_size")
    index = data.draw(st.integers(min_value=0, max_value=tree_size - 1), label="index")
    proof = tree.inclusion_proof(index, tree_size)
    root = tree.root(tree_size)
    verify_inclusion(leaves[index], index, tree_size, proof, root)

    target = data.draw(st.integers(min_value=0, max_value=len(proof)), label="target")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if target == len(proof):
        flipped_leaf = _flip(leaves[index], bit)
        with pytest.raises(ProofError):
            verify_inclusion(flipped_leaf, index, tree_size, proof, root)
    else:
        bad = list(proof)
        bad[target] = _flip(bad[target], bit)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, tree_size, bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, tree_size, proof, _flip(root, bit))


@given(st.data())
@settings(max_examples=150)
def test_consistency_proofs_between_random_sizes_verify(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(min_value=1, max_value=200), label="size2")
    size1 = data.draw(st.integers(min_value=1, max_value=size2), label="size1")
    leaves = _leaves(size2, salt=-size2)
    tree = MerkleTree(leaves)
    proof = tree.consistency_proof(size1, size2)
    root1, root2 = tree.root(size1), tree.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    if size1 < size2:
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        target = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="target")
        bad = list(proof)
        bad[target] = _flip(bad[target], bit)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, bad, root1, root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, _flip(root2, bit))
        # A log that rewrote an old leaf cannot prove its new root consistent with the old one.
        forked = MerkleTree([*leaves[: size1 - 1], leaf_hash(b"rewritten"), *leaves[size1:]])
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, forked.consistency_proof(size1), root1, forked.root())


def _flip(value: bytes, bit: int) -> bytes:
    as_list = bytearray(value)
    as_list[(bit // 8) % len(as_list)] ^= 1 << (bit % 8)
    return bytes(as_list)


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8))
def test_append_extend_and_from_levels_agree_with_bulk_build(chunks: list[int]) -> None:
    total = sum(chunks)
    leaves = _leaves(total, salt=7)
    incremental = MerkleTree()
    start = 0
    for i, chunk in enumerate(chunks):
        part = leaves[start : start + chunk]
        if i % 2:
            incremental.extend(part)
        else:
            for item in part:
                incremental.append(item)
        start += chunk
    bulk = MerkleTree(leaves)
    assert incremental.levels == bulk.levels
    assert incremental.root() == root_hash(leaves)
    restored = MerkleTree.from_levels(bulk.levels)
    assert restored.root() == bulk.root()
    assert MerkleTree.from_levels([leaves]).levels == bulk.levels


def test_bad_arguments_get_precise_errors() -> None:
    tree = MerkleTree(_leaves(5))
    with pytest.raises(InvalidInput, match="leaf index 5 is outside a tree of 5 leaves"):
        tree.inclusion_proof(5)
    with pytest.raises(InvalidInput, match="tree size 6 is outside the log"):
        tree.root(6)
    with pytest.raises(InvalidInput, match="size1 6 must lie between 0 and size2 5"):
        tree.consistency_proof(6)
    with pytest.raises(InvalidInput, match="level 1 holds 1 hashes"):
        MerkleTree.from_levels([_leaves(4), [b"x"]])
    assert tree.consistency_proof(0) == []
    assert tree.consistency_proof(5) == []
    with pytest.raises(ProofError, match="outside a tree of 0 leaves"):
        verify_inclusion(b"", 0, 0, [], EMPTY_ROOT)
