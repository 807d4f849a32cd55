"""verify: tampering with raw SQL behind the ledger's back is found and the exact event named.

Every tampering test runs in three modes: the row-by-row reference walk, the chunked fast pass in this
process, and the fast pass in two worker processes (chunks of 4 events, so a 10-event ledger has three
chunks and every hand-over from the fast pass to the walk is exercised), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, delete, func, insert, select, text, update

from tests.ledger.conftest import capturing_in_background, make_document, shipment_event
from vigichem.errors import InvalidInput
from vigichem.ledger import verification
from vigichem.ledger.checkpoints import append_to_frontier, frontier_root
from vigichem.ledger.db import checkpoints, documents, events
from vigichem.ledger.merkle import event_leaf_hash, root_hash
from vigichem.ledger.models import DiscrepancyKind, VerifyReport
from vigichem.ledger.node import Node
from vigichem.ledger.service import capture, checkpoint, ledger_hash_ids, verify
from vigichem.ledger.verification import _append_subtree, reference_verify_store, verify_store
from vigichem.ledger.verify_chunks import frontier_of, subtree_levels
from vigichem.ledger.verify_support import Positions, loads_stored

Verifier = Callable[[Node], VerifyReport]

MODES: dict[str, Verifier] = {
    "reference": lambda node: reference_verify_store(node.store, node.identity.public_key, ledger_hash_ids),
    "chunks": lambda node: verify_store(
        node.store, node.identity.public_key, ledger_hash_ids, workers=1, chunk_size=4
    ),
    "workers": lambda node: verify_store(
        node.store, node.identity.public_key, ledger_hash_ids, workers=2, chunk_size=4
    ),
}


@pytest.fixture(params=sorted(MODES))
def verifier(request: pytest.FixtureRequest) -> Verifier:
    """One way of verifying (see the module doc)."""
    return MODES[request.param]


@pytest.fixture
def filled(node: Node) -> list[str]:
    """Ten events in three captures (4 + 3 + 3); returns their hash IDs in seq order."""
    hash_ids: list[str] = []
    for start, count in ((0, 4), (4, 3), (7, 3)):
        hash_ids += capture(node.store, make_document(count, start), signer=node.signer).new
    return hash_ids


def _smuggle(
    connection: Connection, event: dict[str, Any], hash_id: str, *, like_seq: int, at_seq: int
) -> None:
    """Insert a well-formed row for ``event`` at ``at_seq``, other columns copied from ``like_seq``."""
    row = connection.execute(select(events).where(events.c.seq == like_seq)).one()._asdict()
    row.update(seq=at_seq, hash_id=hash_id, event_json=json.dumps(event), leaf_hash=event_leaf_hash(hash_id))
    connection.execute(insert(events), row)


def test_untouched_ledger_verifies(node: Node, filled: list[str], verifier: Verifier) -> None:
    report = verifier(node)
    assert report.ok and report.tree_size == 10 and report.checkpoints_checked == 3
    assert report.discrepancy is None


def test_empty_ledger_verifies(node: Node, verifier: Verifier) -> None:
    report = verifier(node)
    assert report.ok and report.tree_size == 0


def test_modified_event_json_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    with node.engine.begin() as connection:
        stored = json.loads(
            connection.execute(select(events.c.event_json).where(events.c.seq == 5)).scalar_one()
        )
        stored["quantityList"][0]["quantity"] = 2.5  # 25 kg shipped, 2.5 kg on record
        connection.execute(update(events).where(events.c.seq == 5).values(event_json=json.dumps(stored)))
    report = verifier(node)
    assert not report.ok and report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.MODIFIED, 5)
    assert report.discrepancy.hash_id == filled[5]


def test_consistent_rewrite_is_caught_by_the_signed_root(
    node: Node, filled: list[str], verifier: Verifier
) -> None:
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
    report = verifier(node)
    assert report.discrepancy is not None and report.discrepancy.kind == DiscrepancyKind.MODIFIED
    assert "4..6" in report.discrepancy.message  # the capture of seq 4-6 is the one that does not verify


def test_deleted_event_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    with node.engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_quantities WHERE seq = 6"))
        connection.execute(text("DELETE FROM ledger_sources WHERE seq = 6"))
        connection.execute(delete(events).where(events.c.seq == 6))
    report = verifier(node)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.DELETED, 6)


def test_deleted_last_event_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    with node.engine.begin() as connection:
        for table in ("ledger_quantities", "ledger_sources"):
            connection.execute(text(f"DELETE FROM {table} WHERE seq = 9"))
        connection.execute(delete(events).where(events.c.seq == 9))
    report = verifier(node)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.DELETED, 9)


def test_inserted_event_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    smuggled = shipment_event(99)
    document = make_document(0)
    document["epcisBody"]["eventList"] = [smuggled]
    smuggled_id = ledger_hash_ids(document)[0]
    with node.engine.begin() as connection:
        _smuggle(connection, smuggled, smuggled_id, like_seq=9, at_seq=10)
    report = verifier(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.INSERTED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (10, smuggled_id)


def test_inserted_event_in_the_middle_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
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
    report = verifier(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.INSERTED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (3, smuggled_id)


def test_reordered_events_are_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    with node.engine.begin() as connection:
        for table in ("ledger_quantities", "ledger_sources", "ledger_epcs"):
            connection.execute(text(f"DELETE FROM {table}"))  # child rows would pin the old seqs
        connection.execute(update(events).where(events.c.seq == 2).values(seq=-1))
        connection.execute(update(events).where(events.c.seq == 7).values(seq=2))
        connection.execute(update(events).where(events.c.seq == -1).values(seq=7))
    report = verifier(node)
    assert report.discrepancy is not None
    assert report.discrepancy.kind == DiscrepancyKind.REORDERED
    assert (report.discrepancy.seq, report.discrepancy.hash_id) == (2, filled[7])


def test_forged_checkpoint_signature_is_named(node: Node, filled: list[str], verifier: Verifier) -> None:
    with node.engine.begin() as connection:
        first_id = connection.execute(select(checkpoints.c.id).order_by(checkpoints.c.id)).scalars().first()
        connection.execute(
            update(checkpoints).where(checkpoints.c.id == first_id).values(signature=b"\0" * 64)
        )
    report = verifier(node)
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

    from vigichem.ledger.verify_support import gc_paused

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


# -- the fast pass against the reference walk ------------------------------------------------------------


def test_default_verification_of_a_filled_ledger(node: Node, filled: list[str]) -> None:
    report = verify(node.store, node.identity.public_key)  # worker count chosen from the CPUs
    assert report.ok and report.tree_size == 10 and report.checkpoints_checked == 3


def test_bad_worker_count_or_chunk_size_is_refused(node: Node) -> None:
    with pytest.raises(InvalidInput, match="at least one worker"):
        verify_store(node.store, node.identity.public_key, ledger_hash_ids, workers=0)
    with pytest.raises(InvalidInput, match="power of two"):
        verify_store(node.store, node.identity.public_key, ledger_hash_ids, chunk_size=6)


def _delete_children(connection: Connection, where: str = "") -> None:
    for table in ("ledger_quantities", "ledger_sources", "ledger_epcs"):
        connection.execute(text(f"DELETE FROM {table}{where}"))  # child rows would pin the old seqs


def _event_json(connection: Connection, seq: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        connection.execute(select(events.c.event_json).where(events.c.seq == seq)).scalar_one()
    )
    return loaded


def _forged_id(event: dict[str, Any]) -> str:
    document = make_document(0)
    document["epcisBody"]["eventList"] = [event]
    return ledger_hash_ids(document)[0]


def _tamper(kind: str, connection: Connection, size: int, rng: random.Random) -> None:
    """One way of changing the stored ledger behind its back (raw SQL), at a random place."""
    seq = rng.randrange(size)
    if kind == "json":
        stored = _event_json(connection, seq)
        stored["quantityList"][0]["quantity"] = 0.5
        connection.execute(update(events).where(events.c.seq == seq).values(event_json=json.dumps(stored)))
    elif kind in ("unreadable", "not_an_event", "padded"):
        new = {
            "unreadable": '{"type": "ObjectEvent", ',
            "not_an_event": "[1, 2]",
            "padded": " " + json.dumps(_event_json(connection, seq)) + "\n",  # still reads the same: ok
        }[kind]
        connection.execute(update(events).where(events.c.seq == seq).values(event_json=new))
    elif kind == "rewrite":
        forged = shipment_event(10_000 + seq, kg=0.5)
        forged_id = _forged_id(forged)
        connection.execute(
            update(events)
            .where(events.c.seq == seq)
            .values(event_json=json.dumps(forged), hash_id=forged_id, leaf_hash=event_leaf_hash(forged_id))
        )
    elif kind == "leaf":
        connection.execute(update(events).where(events.c.seq == seq).values(leaf_hash=b"\x07" * 32))
    elif kind in ("delete", "delete_tail"):
        first = seq if kind == "delete" else size - 1 - rng.randrange(3)
        _delete_children(
            connection, f" WHERE seq >= {first}" if kind == "delete_tail" else f" WHERE seq = {first}"
        )
        condition = events.c.seq >= first if kind == "delete_tail" else events.c.seq == first
        connection.execute(delete(events).where(condition))
    elif kind == "insert_end":
        smuggled = shipment_event(20_000)
        _smuggle(connection, smuggled, _forged_id(smuggled), like_seq=size - 1, at_seq=size)
    elif kind == "insert_middle":
        _delete_children(connection)
        connection.execute(update(events).where(events.c.seq >= seq).values(seq=-events.c.seq - 1))
        connection.execute(update(events).where(events.c.seq < 0).values(seq=-events.c.seq))
        smuggled = shipment_event(30_000)
        _smuggle(connection, smuggled, _forged_id(smuggled), like_seq=seq + 1, at_seq=seq)
    elif kind == "swap":
        other = (seq + 1 + rng.randrange(size - 1)) % size
        _delete_children(connection)
        connection.execute(update(events).where(events.c.seq == seq).values(seq=-5))
        connection.execute(update(events).where(events.c.seq == other).values(seq=seq))
        connection.execute(update(events).where(events.c.seq == -5).values(seq=other))
    elif kind == "negative_seq":
        _delete_children(connection, f" WHERE seq = {seq}")
        connection.execute(update(events).where(events.c.seq == seq).values(seq=-1 - seq))
    elif kind == "capture_record":
        document_id = connection.execute(select(documents.c.id).order_by(func.random()).limit(1)).scalar_one()
        connection.execute(
            update(documents).where(documents.c.id == document_id).values(first_seq=documents.c.first_seq + 1)
        )
    elif kind == "signature":
        checkpoint_id = connection.execute(
            select(checkpoints.c.id).order_by(func.random()).limit(1)
        ).scalar_one()
        connection.execute(
            update(checkpoints).where(checkpoints.c.id == checkpoint_id).values(signature=b"\0" * 64)
        )
    elif kind == "checkpoint_dropped":
        connection.execute(delete(checkpoints).where(checkpoints.c.tree_size <= seq + 1))
    else:
        assert kind == "none", kind


TAMPERINGS = [
    "none",
    "json",
    "unreadable",
    "not_an_event",
    "padded",
    "rewrite",
    "leaf",
    "delete",
    "delete_tail",
    "insert_end",
    "insert_middle",
    "swap",
    "negative_seq",
    "capture_record",
    "signature",
    "checkpoint_dropped",
]


@pytest.mark.parametrize("seed", [1])
@pytest.mark.parametrize("kind", TAMPERINGS)
def test_fast_pass_reports_exactly_what_the_walk_reports(node: Node, kind: str, seed: int) -> None:
    """Random captures (random document sizes, some signed on demand in between), one random tampering:
    the fast pass in every mode and chunk size gives the very report of the row-by-row walk."""
    rng = random.Random(f"{kind}-{seed}")
    size = 0
    while size < 37:
        count = rng.choice((1, 1, 2, 3, 5, 8))
        capture(node.store, make_document(count, size), signer=node.signer if rng.random() < 0.8 else None)
        size += count
        if rng.random() < 0.1:
            assert node.signer is not None
            checkpoint(node.store, node.signer)
    with node.engine.begin() as connection:
        _tamper(kind, connection, size, rng)
    reference = reference_verify_store(node.store, node.identity.public_key, ledger_hash_ids)
    assert reference.ok == (kind in ("none", "padded", "checkpoint_dropped")), reference
    assert reference.ok or reference.discrepancy is not None
    for workers, chunk_size in ((1, 1), (1, 8), (2, 4), (3, 16)):
        fast = verify_store(
            node.store, node.identity.public_key, ledger_hash_ids, workers=workers, chunk_size=chunk_size
        )
        assert fast == reference, (workers, chunk_size)


def test_unreadable_stored_json_is_named_not_a_crash(
    node: Node, filled: list[str], verifier: Verifier
) -> None:
    with node.engine.begin() as connection:
        connection.execute(update(events).where(events.c.seq == 6).values(event_json="{not json"))
    report = verifier(node)
    assert report.discrepancy is not None
    assert (report.discrepancy.kind, report.discrepancy.seq) == (DiscrepancyKind.MODIFIED, 6)
    assert (
        report.discrepancy.hash_id == filled[6]
        and "no longer reads as an event" in report.discrepancy.message
    )


def test_capture_runs_match_expected_positions() -> None:
    """``Positions.runs`` (the fast pass) says what ``expected`` (the walk) says, seq by seq, even for
    overlapping, repeated or gapped capture records."""
    rng = random.Random(7)
    for _ in range(300):
        records = {
            doc: (rng.randrange(40), rng.randrange(0, 12), None) for doc in range(1, rng.randrange(1, 8))
        }
        positions = Positions(records)
        lo = rng.randrange(45)
        hi = lo + rng.randrange(1, 20)
        flat: list[tuple[int, int] | None] = []
        for document_id, first, start, end in positions.runs(lo, hi):
            flat += [None if document_id is None else (document_id, seq - first) for seq in range(start, end)]
        assert flat == [positions.expected(seq) for seq in range(lo, hi)], records


def test_chunk_frontiers_match_leaf_by_leaf_appends() -> None:
    """Subtree levels, partial frontiers and subtree appends give the frontier of leaf-by-leaf appends."""
    rng = random.Random(11)
    leaves = [bytes([i % 256, i // 256]) * 16 for i in range(300)]
    for chunk_size in (1, 2, 4, 16, 64):
        frontier: list[bytes] = []
        size = 0
        for lo in range(0, len(leaves), chunk_size):
            chunk = leaves[lo : lo + chunk_size]
            levels = subtree_levels(chunk)
            if len(chunk) > 1:  # a checkpoint strictly inside the chunk: its partial frontier
                cut = rng.randrange(1, len(chunk))
                reference: list[bytes] = []
                append_to_frontier(reference, 0, leaves[: lo + cut])
                assert frontier + frontier_of(levels, cut) == reference
            count = len(chunk)
            heights = [h for h in range(count.bit_length() - 1, -1, -1) if count >> h & 1]
            for subtree, height in zip(frontier_of(levels, count), heights, strict=True):
                size = _append_subtree(frontier, size, subtree, height)
            assert frontier_root(frontier) == root_hash(leaves[: lo + count])
        assert size == len(leaves)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        ' {"a": 1}',
        '{"a": 1} ',
        '{"a": 1} x',
        "",
        "[1, 2]",
        "NaN",
        '"\\ud800"',
        "{",
        b'{"a": 1}',
        "1e400",
    ],
)
def test_loads_is_json_loads(text: str | bytes) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as error:
        with pytest.raises(type(error)):
            loads_stored(text)
        return
    got = loads_stored(text)
    assert got == expected or (got != got and expected != expected)  # NaN is not equal to itself


def test_the_fast_pass_does_the_work_and_the_walk_starts_at_the_bad_chunk(
    node: Node, filled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean ledger never reaches the row-by-row walk; a tampered one reaches it at the first bad chunk."""
    starts: list[int] = []
    walk_rows = verification._rows_from

    def recording(connection: Connection, start: int, batch_size: int) -> Any:
        starts.append(start)
        return walk_rows(connection, start, batch_size)

    monkeypatch.setattr(verification, "_rows_from", recording)
    for workers in (1, 2):
        assert verify_store(
            node.store, node.identity.public_key, ledger_hash_ids, workers=workers, chunk_size=4
        ).ok
    assert starts == []
    with node.engine.begin() as connection:
        connection.execute(
            update(events).where(events.c.seq == 9).values(event_json='{"type": "ObjectEvent"}')
        )
    for workers in (1, 2):
        report = verify_store(
            node.store, node.identity.public_key, ledger_hash_ids, workers=workers, chunk_size=4
        )
        assert report.discrepancy is not None and report.discrepancy.seq == 9
    assert starts == [8, 8]  # the chunks 0..3 and 4..7 were clean


def test_workers_during_concurrent_captures_see_the_snapshot(node: Node) -> None:
    """Workers read their seq ranges while another thread keeps capturing (so they are spawned, not
    forked): every report is ok, none sees a half-committed capture."""
    capture(node.store, make_document(20), signer=node.signer)
    with capturing_in_background(node):
        reports = [
            verify_store(node.store, node.identity.public_key, ledger_hash_ids, workers=2, chunk_size=8)
            for _ in range(2)
        ]
    assert all(report.ok for report in reports), [r.discrepancy for r in reports if not r.ok]
    assert reports[-1].tree_size >= 20
