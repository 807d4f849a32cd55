"""Recompute the ledger from storage and name the first event that does not verify.

Checks, streaming the events in seq order (memory stays flat over millions of events):

1. every checkpoint's Ed25519 signature, under the node's public key;
2. ``seq`` is gap-free from 0 (a gap: the event at that seq was **deleted**);
3. each event's hash ID, recomputed from its stored JSON and its document's ``@context``, equals the stored
   ``hash_id``, and ``leaf_hash`` is the leaf hash of that ID (otherwise the row was **modified**);
4. each event sits where its capture put it: the capture record (``ledger_documents``: first seq and count)
   says which document and position each seq holds. A row of unknown origin was **inserted**; rows shifted
   up or down mean an insertion or deletion in the middle (told apart by the row count); otherwise the row
   was **reordered**;
5. the RFC 9162 root recomputed at every checkpointed size equals the signed root (a mismatch with all rows
   self-consistent means a consistent rewrite of an event in that checkpoint's range: **modified**);
6. no event lies beyond the log state and no signed checkpoint is longer than the stored log.

The first discrepancy is reported with its kind, seq and hash ID.
"""

from __future__ import annotations

import bisect
import gc
import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from vigichem.ledger.checkpoints import append_to_frontier, frontier_root, signature_valid
from vigichem.ledger.merkle import event_leaf_hash
from vigichem.ledger.models import Checkpoint, Discrepancy, DiscrepancyKind, VerifyReport
from vigichem.ledger.store import LedgerStore, VerifyRow

__all__ = ["HashFunction", "gc_paused", "verify_store"]

HashFunction = Callable[[dict[str, Any]], list[str]]
"""Hash IDs of a parsed EPCISDocument's events, in document order (``event_hash_ids``)."""


class _Found(Exception):
    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(discrepancy.message)
        self.discrepancy = discrepancy


class _Positions:
    """Where each seq should be, according to the capture records: (document id, index in the document)."""

    def __init__(self, documents: dict[int, tuple[int, int, Any]]) -> None:
        ordered = sorted((first, count, doc_id) for doc_id, (first, count, _ctx) in documents.items())
        self.starts = [first for first, _count, _doc in ordered]
        self.ordered = ordered
        self.total = sum(count for _first, count, _doc in ordered)
        self.home = {doc_id: (first, count) for first, count, doc_id in ordered}

    def expected(self, seq: int) -> tuple[int, int] | None:
        at = bisect.bisect_right(self.starts, seq) - 1
        if at < 0:
            return None
        first, count, doc_id = self.ordered[at]
        return (doc_id, seq - first) if seq < first + count else None

    def home_seq(self, document_id: int, index: int) -> int | None:
        placed = self.home.get(document_id)
        if placed is None or not 0 <= index < placed[1]:
            return None
        return placed[0] + index


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around allocation-heavy, cycle-free work.

    Parsing and hashing thousands of events allocates millions of short-lived containers; each few
    hundred allocations trigger a collection that walks the young objects, and the older generations get
    walked too as the batch grows: a fifth or more of the CPU time of preparing a large document. JSON
    values hold no reference cycles, so reference counting frees them all the same. The collector is
    turned back on only by whoever found it on (concurrent callers never leave it off for good).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rehash(pairs: list[tuple[int, str]], contexts: dict[int, Any], hash_ids: HashFunction) -> list[str]:
    """Recompute hash IDs of (document id, event JSON) pairs, one call per run from the same document."""
    with gc_paused():
        return _rehash_runs(pairs, contexts, hash_ids)


def _rehash_runs(pairs: list[tuple[int, str]], contexts: dict[int, Any], hash_ids: HashFunction) -> list[str]:
    out: list[str] = []
    start = 0
    while start < len(pairs):
        document_id = pairs[start][0]
        end = start
        while end < len(pairs) and pairs[end][0] == document_id:
            end += 1
        batch = [json.loads(event_json) for _doc, event_json in pairs[start:end]]
        document: dict[str, Any] = {"type": "EPCISDocument", "epcisBody": {"eventList": batch}}
        context = contexts.get(document_id)
        if context is not None:
            document["@context"] = context
        out.extend(hash_ids(document))
        start = end
    return out


def _job(
    rows: list[VerifyRow], documents: dict[int, tuple[int, int, Any]]
) -> tuple[list[tuple[int, str]], dict[int, Any]]:
    pairs = [(row.document_id, row.event_json) for row in rows]
    contexts = {doc: documents[doc][2] for doc in {row.document_id for row in rows} if doc in documents}
    return pairs, contexts


def _hashed_batches(
    store: LedgerStore,
    documents: dict[int, tuple[int, int, Any]],
    hash_ids: HashFunction,
    batch_size: int,
    workers: int,
    connection: Connection,
) -> Iterator[tuple[list[VerifyRow], list[str]]]:
    """Stored rows in seq order with their recomputed hash IDs; hashing runs in ``workers`` processes."""
    if workers <= 1:
        for batch in store.iter_verify_rows(batch_size, connection):
            yield batch, _rehash(*_job(batch, documents), hash_ids)
        return
    # Reading the next batches overlaps with hashing the previous ones; order is kept by the queue.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        queue: deque[tuple[list[VerifyRow], Future[list[str]]]] = deque()
        for batch in store.iter_verify_rows(batch_size, connection):
            queue.append((batch, pool.submit(_rehash, *_job(batch, documents), hash_ids)))
            if len(queue) > 2 * workers:
                rows, future = queue.popleft()
                yield rows, future.result()
        while queue:
            rows, future = queue.popleft()
            yield rows, future.result()


def _found(kind: DiscrepancyKind, row: VerifyRow | None, message: str, seq: int | None = None) -> _Found:
    return _Found(
        Discrepancy(
            kind=kind,
            seq=row.seq if row is not None else seq,
            hash_id=row.hash_id if row is not None else None,
            message=message,
        )
    )


def _check_position(
    row: VerifyRow, previous: VerifyRow | None, positions: _Positions, row_count: int
) -> None:
    expected = positions.expected(row.seq)
    if expected == (row.document_id, row.document_index):
        return
    home = positions.home_seq(row.document_id, row.document_index)
    if home is None or expected is None:
        raise _found(
            DiscrepancyKind.INSERTED,
            row,
            f"event {row.hash_id} at seq {row.seq} is not in any capture record: inserted behind the ledger",
        )
    if row_count > positions.total and home < row.seq and previous is not None:
        raise _found(
            DiscrepancyKind.INSERTED,
            previous,
            f"event {previous.hash_id} at seq {previous.seq} was inserted: the events after it shifted up",
        )
    if row_count < positions.total and home > row.seq:
        raise _found(
            DiscrepancyKind.DELETED,
            None,
            f"the event captured at seq {row.seq} (capture {expected[0]}, position {expected[1]}) was "
            "deleted: the events after it are shifted down",
            seq=row.seq,
        )
    raise _found(
        DiscrepancyKind.REORDERED,
        row,
        f"event {row.hash_id} is stored at seq {row.seq} but was captured at seq {home}: reordered",
    )


def verify_store(
    store: LedgerStore,
    public_key: bytes,
    hash_ids: HashFunction,
    batch_size: int = 5_000,
    workers: int = 1,
) -> VerifyReport:
    """Recompute everything from storage; the report names the first discrepancy (see the module doc).

    Every read goes through one snapshot, so captures committing meanwhile are simply not seen.
    """
    with store.snapshot() as connection:
        return _verify_snapshot(store, connection, public_key, hash_ids, batch_size, workers)


def _verify_snapshot(
    store: LedgerStore,
    connection: Connection,
    public_key: bytes,
    hash_ids: HashFunction,
    batch_size: int,
    workers: int,
) -> VerifyReport:
    signed = store.checkpoints(connection)
    checked = 0
    frontier: list[bytes] = []
    size = 0
    try:
        for checkpoint in signed:
            if not signature_valid(checkpoint, public_key):
                raise _found(
                    DiscrepancyKind.CHECKPOINT,
                    None,
                    f"the checkpoint of tree size {checkpoint.tree_size} signed at {checkpoint.time} has an "
                    "invalid signature for this node's key",
                    seq=checkpoint.tree_size,
                )
        by_size: dict[int, list[Checkpoint]] = {}
        for checkpoint in signed:
            by_size.setdefault(checkpoint.tree_size, []).append(checkpoint)
        sizes = sorted(by_size)
        contexts = store.document_contexts(connection)
        positions = _Positions(contexts)
        row_count = store.event_count(connection)
        recorded_size, _recorded_root = store.log_state(connection)
        previous: VerifyRow | None = None
        last_checked_size = 0
        checked += _check_roots(by_size, 0, frontier, 0)
        # A root that fails at a checkpoint is held back for one row: an insertion or deletion shows at the
        # next row's position, which names the event where the root can only name a range.
        pending: _Found | None = None
        for batch, recomputed in _hashed_batches(store, contexts, hash_ids, batch_size, workers, connection):
            for row, hash_id in zip(batch, recomputed, strict=True):
                try:
                    _check_row(row, hash_id, size, previous, positions, row_count)
                except _Found as found:
                    if pending is None or (
                        found.discrepancy.seq is not None and found.discrepancy.seq < size
                    ):
                        raise
                    raise pending from None
                if pending is not None:
                    raise pending
                size = append_to_frontier(frontier, size, (row.leaf_hash,))
                if size in by_size:
                    try:
                        checked += _check_roots(by_size, size, frontier, last_checked_size)
                    except _Found as found:
                        pending = found
                    last_checked_size = size
                previous = row
        if pending is not None:
            raise pending
        if size < positions.total:
            raise _found(
                DiscrepancyKind.DELETED,
                None,
                f"the event(s) captured at seq {size}..{positions.total - 1} are missing: deleted",
                seq=size,
            )
        longest = sizes[-1] if sizes else 0
        if longest > size:
            raise _found(
                DiscrepancyKind.DELETED,
                None,
                f"a signed checkpoint covers {longest} events but only {size} are stored: seq {size} "
                f"onwards deleted",
                seq=size,
            )
        if recorded_size != size:
            raise _found(
                DiscrepancyKind.INSERTED if size > recorded_size else DiscrepancyKind.DELETED,
                previous,
                f"the log state records {recorded_size} events but {size} are stored",
            )
    except _Found as found:
        return VerifyReport(
            ok=False,
            tree_size=size,
            root=frontier_root(frontier),
            checkpoints_checked=checked,
            discrepancy=found.discrepancy,
            latest_checkpoint=signed[-1] if signed else None,
        )
    return VerifyReport(
        ok=True,
        tree_size=size,
        root=frontier_root(frontier),
        checkpoints_checked=checked,
        latest_checkpoint=signed[-1] if signed else None,
    )


def _check_row(
    row: VerifyRow, hash_id: str, size: int, previous: VerifyRow | None, positions: _Positions, row_count: int
) -> None:
    """Row-level checks: no gap before it, in its captured place, hash ID and leaf hash recomputed."""
    if row.seq != size:
        raise _found(
            DiscrepancyKind.DELETED,
            None,
            f"the event at seq {size} is missing (the next one stored is {row.seq}): deleted",
            seq=size,
        )
    _check_position(row, previous, positions, row_count)
    if hash_id != row.hash_id:
        raise _found(
            DiscrepancyKind.MODIFIED,
            row,
            f"event at seq {row.seq} was modified: its JSON hashes to {hash_id}, "
            f"not to its recorded hash ID {row.hash_id}",
        )
    if row.leaf_hash != event_leaf_hash(row.hash_id):
        raise _found(
            DiscrepancyKind.MODIFIED,
            row,
            f"event {row.hash_id} at seq {row.seq} was modified: its stored leaf hash is not the "
            "leaf hash of its hash ID",
        )


def _check_roots(by_size: dict[int, list[Checkpoint]], size: int, frontier: list[bytes], since: int) -> int:
    """Compare the recomputed root at ``size`` with every checkpoint of that size; return how many."""
    expected = by_size.get(size, [])
    if not expected:
        return 0
    root = frontier_root(frontier)
    for checkpoint in expected:
        if checkpoint.root != root:
            raise _found(
                DiscrepancyKind.MODIFIED,
                None,
                f"the recomputed root at tree size {size} differs from the signed checkpoint: an event in "
                f"seq {since}..{size - 1} was rewritten consistently (JSON, hash ID, leaf hash) or reordered",
                seq=since,
            )
    return len(expected)
