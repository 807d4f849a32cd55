"""LedgerStore and node: atomic appends, duplicates, gap-free seq, index rows, checkpoints, node key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.ledger.conftest import make_document, shipment_event
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import merkle
from vigichem.ledger.checkpoints import signature_valid
from vigichem.ledger.db import epcs, events, quantities, sources
from vigichem.ledger.node import KEY_FILE, Node, init_node, load_node
from vigichem.ledger.service import capture
from vigichem.settings import Settings


def test_append_assigns_gap_free_seq_and_signs_each_capture(node: Node) -> None:
    first = capture(node.store, make_document(3), signer=node.signer)
    second = capture(node.store, make_document(2, start=3), signer=node.signer)
    assert (first.first_seq, first.tree_size, second.first_seq, second.tree_size) == (0, 3, 3, 5)
    with node.engine.connect() as connection:
        seqs = list(connection.execute(select(events.c.seq).order_by(events.c.seq)).scalars())
    assert seqs == [0, 1, 2, 3, 4]
    assert second.checkpoint is not None
    assert signature_valid(second.checkpoint, node.identity.public_key)
    leaves = [merkle.event_leaf_hash(h) for h in first.new + second.new]
    assert second.checkpoint.root == merkle.root_hash(leaves)
    assert node.store.log_state() == (5, merkle.root_hash(leaves))


def test_duplicates_are_reported_and_not_stored(node: Node) -> None:
    capture(node.store, make_document(3), signer=node.signer)
    checkpoints_before = len(node.store.checkpoints())
    again = capture(node.store, make_document(3), signer=node.signer)
    assert again.new == [] and len(again.duplicates) == 3 and again.tree_size == 3
    assert len(node.store.checkpoints()) == checkpoints_before  # a no-op signs nothing
    mixed = capture(node.store, make_document(5), signer=node.signer)
    assert len(mixed.new) == 2 and len(mixed.duplicates) == 3 and mixed.tree_size == 5
    assert node.store.event_count() == 5


def test_a_repeated_event_inside_one_document_is_stored_once(node: Node) -> None:
    document = make_document(2)
    document["epcisBody"]["eventList"].append(shipment_event(0))
    result = capture(node.store, document, signer=node.signer)
    assert len(result.new) == 2 and result.duplicates == [result.new[0]]


def test_index_rows_are_written(node: Node) -> None:
    capture(node.store, make_document(2), signer=node.signer)
    with node.engine.connect() as connection:
        row = connection.execute(select(events).where(events.c.seq == 1)).one()
        quantity = connection.execute(select(quantities).where(quantities.c.seq == 1)).one()
        party_rows = connection.execute(
            select(sources).where(sources.c.seq == 1).order_by(sources.c.kind)
        ).all()
        epc_count = connection.execute(select(func.count()).select_from(epcs)).scalar_one()
    assert (row.biz_step, row.disposition, row.party_ref) == ("shipping", "in_transit", "pty-test-1")
    assert row.event_time.isoformat() == "2026-02-28T23:00:01"  # +01:00 converted to UTC
    assert (quantity.role, quantity.quantity, quantity.uom) == ("quantity", 25.0, "KGM")
    assert (quantity.base_quantity, quantity.base_unit) == (25.0, "kg")
    assert [(r.kind, r.type) for r in party_rows] == [
        ("destination", "owning_party"),
        ("source", "owning_party"),
    ]
    assert epc_count == 0  # quantity-only events carry no instance EPCs


def test_on_demand_checkpoint_and_seq_lookup(node: Node) -> None:
    result = capture(node.store, make_document(4), signer=node.signer)
    assert node.store.seq_of(result.new[2]) == 2
    with pytest.raises(NotFound):
        node.store.seq_of("ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0")
    assert node.signer is not None
    head = node.store.sign_current(node.signer)
    assert head.tree_size == 4 and signature_valid(head, node.identity.public_key)


def test_node_key_is_private_and_node_reloads(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "n"
    created = init_node(data_dir, "Douane Casablanca", "ma", database_url=database_url)
    created.close()
    mode = stat.S_IMODE(os.stat(data_dir / KEY_FILE).st_mode)
    assert mode == 0o600
    loaded = load_node(Settings(data_dir=data_dir, database_url=database_url))
    try:
        assert loaded.identity.country == "MA" and loaded.identity.name == "Douane Casablanca"
        assert loaded.private_key is not None
    finally:
        loaded.close()
    with pytest.raises(InvalidInput, match="already initialised"):
        init_node(data_dir, "again", "MA", database_url=database_url)


def test_init_refuses_bad_identity(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="ISO 3166-1"):
        init_node(tmp_path / "x", "Node", "France")
    with pytest.raises(InvalidInput, match="empty"):
        init_node(tmp_path / "y", "  ", "FR")
