"""verify: tampering with raw SQL behind the ledger's back is found and the exact event named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, text, update

from tests.ledger.conftest import make_document, shipment_event
from vigichem.ledger.db import checkpoints, events
from vigichem.ledger.merkle import event_leaf_hash
from vigichem.ledger.models import DiscrepancyKind, VerifyReport
from vigichem.ledger.node import Node
from vigichem.ledger.service import capture, ledger_hash_ids, verify


@pytest.fixture
def filled(node: Node) -> list[str]:
    """Ten events in three captures (4 + 3 + 3); returns their hash IDs in seq order."""
    hash_ids: list[str] = []
    for start, count in ((0, 4), (4, 3), (7, 3)):
        hash_ids += capture(node.store, make_document(count, start), signer=node.signer).new
    return hash_ids


def _verify(node: Node) -> VerifyReport:
    return verify(node.store, node.identity.public_key)


def _smuggle(
    connection: Connection, event: dict[str, Any], hash_id: str, *, like_seq: int, at_seq: int
) -> None:
    """Insert a well-formed row for ``event`` at ``at_seq``, other columns copied from ``like_seq``."""
    row = connection.execute(select(events).where(events.c.seq == like_seq)).one()._asdict()
    row.update(seq=at_seq, hash_id=hash_id, event_json=json.dumps(event), leaf_hash=event_leaf_hash(hash_id))
    connection.execute(insert(events), row)


def test_untouched_ledger_verifies(node: Node, filled: list[str]) -> None:
    report = _verify(node)
    assert report.ok and report.tree_size == 10 and report.checkpoints_checked == 3
    assert report.discrepancy is None


def test_empty_ledger_verifies(node: Node) -> None:
    report = _verify(node)
    assert report.ok and report.tree_size == 0


def test_modified_event_json_is_named(node: Node, filled: list[str]) -> None:
    with node.engine.begin() as connection:
        stored = json.loads(
            connection.execute(select(events.c.event_json).where(events.c.seq == 5)).scalar_one()
        )
        stored["quantityList"][0]["quantity"] = 2.5  # 25 kg shipped, 2.5 kg on record
        connection.execute(update(events).where(events.c.seq == 5).values(event_json=json.dumps(stored)))
    report = _verify(node)
    assert not report.ok and report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.MODIFIED, 5)
    assert report.discrepancy.hash_id == filled[5]


def test_consistent_rewrite_is_caught_by_the_signed_root(node: Node, filled: list[str]) -> None:
    # The forger rewrites the JSON, the hash ID and the leaf hash together; only the signature resists.
    forged = shipment_event(5, kg=2.5)
    document = make_document(0)
    document["epcisBody"]["eventList"] = [forged]
    forged_id = ledger_hash_ids(document)[0]
    with node.engine.begin() as connection:
        connection.execute(
            update(events)
            .where(events.c.seq == 5)
            .values(event_json=json.dumps(forged), hash_id=forged_id, leaf_hash=event_leaf_hash(forged_id))
        )
    report = _verify(node)
    assert report.discrepancy is not None and report.discrepancy.kind == DiscrepancyKind.MODIFIED
    assert "4..6" in report.discrepancy.message  # the capture of seq 4-6 is the one that does not verify


def test_deleted_event_is_named(node: Node, filled: list[str]) -> None:
    with node.engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_quantities WHERE seq = 6"))
        connection.execute(text("DELETE FROM ledger_sources WHERE seq = 6"))
        connection.execute(delete(events).where(events.c.seq == 6))
    report = _verify(node)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.DELETED, 6)


def test_deleted_last_event_is_named(node: Node, filled: list[str]) -> None:
    with node.engine.begin() as connection:
        for table in ("ledger_quantities", "ledger_sources"):
            connection.execute(text(f"DELETE FROM {table} WHERE seq = 9"))
        connection.execute(delete(events).where(events.c.seq == 9))
    report = _verify(node)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.DELETED, 9)


def test_inserted_event_is_named(node: Node, filled: list[str]) -> None:
    smuggled = shipment_event(99)
    document = make_document(0)
    document["epcisBody"]["eventList"] = [smuggled]
    smuggled_id = ledger_hash_ids(document)[0]
    with node.engine.begin() as connection:
        _smuggle(connection, smuggled, smuggled_id, like_seq=9, at_seq=10)
    report = _verify(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.INSERTED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (10, smuggled_id)


def test_inserted_event_in_the_middle_is_named(node: Node, filled: list[str]) -> None:
    smuggled = shipment_event(77)
    document = make_document(0)
    document["epcisBody"]["eventList"] = [smuggled]
    smuggled_id = ledger_hash_ids(document)[0]
    with node.engine.begin() as connection:
        # Make room at seq 3 the way a forger would: shift the later rows (via negative seqs, since the
        # primary key forbids overlaps), then slip a well-formed row in claiming the capture's position 3.
        for table in ("ledger_quantities", "ledger_sources", "ledger_epcs"):
            connection.execute(text(f"DELETE FROM {table}"))  # child rows would pin the old seqs
        connection.execute(update(events).where(events.c.seq >= 3).values(seq=-events.c.seq - 1))
        connection.execute(update(events).where(events.c.seq < 0).values(seq=-events.c.seq))
        _smuggle(connection, smuggled, smuggled_id, like_seq=4, at_seq=3)
    report = _verify(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.INSERTED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (3, smuggled_id)


def test_reordered_events_are_named(node: Node, filled: list[str]) -> None:
    with node.engine.begin() as connection:
        for table in ("ledger_quantities", "ledger_sources", "ledger_epcs"):
            connection.execute(text(f"DELETE FROM {table}"))  # child rows would pin the old seqs
        connection.execute(update(events).where(events.c.seq == 2).values(seq=-1))
        connection.execute(update(events).where(events.c.seq == 7).values(seq=2))
        connection.execute(update(events).where(events.c.seq == -1).values(seq=7))
    report = _verify(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.REORDERED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (2, filled[7])


def test_forged_checkpoint_signature_is_named(node: Node, filled: list[str]) -> None:
    with node.engine.begin() as connection:
        first_id = connection.execute(select(checkpoints.c.id).order_by(checkpoints.c.id)).scalars().first()
        connection.execute(
            update(checkpoints).where(checkpoints.c.id == first_id).values(signature=b"\0" * 64)
        )
    report = _verify(node)
    assert report.discrepancy is not None and report.discrepancy.kind == DiscrepancyKind.CHECKPOINT


def test_parallel_verification_agrees(node: Node, filled: list[str]) -> None:
    assert verify(node.store, node.identity.public_key, workers=2).ok
    with node.engine.begin() as connection:
        stored = json.loads(
            connection.execute(select(events.c.event_json).where(events.c.seq == 8)).scalar_one()
        )
        stored["bizStep"] = "receiving"
        connection.execute(update(events).where(events.c.seq == 8).values(event_json=json.dumps(stored)))
    report = verify(node.store, node.identity.public_key, workers=2)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.MODIFIED, 8)


def test_gc_paused_restores_the_collector_as_it_found_it() -> None:
    """Preparation and rehashing pause the cyclic collector; it must come back on, even after an error."""
    import gc

    from vigichem.ledger.verification import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # someone else turned it off: left off
    finally:
        gc.enable()
