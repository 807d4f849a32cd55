"""Recompute the ledger from storage and name the first event that does not verify.

Checks, in seq order (memory stays flat over millions of events):

1. every checkpoint's Ed25519 signature, under the node's public key;
2. ``seq`` is gap-free from 0 (a gap: the event at that seq was **deleted**);
3. each event's hash ID, recomputed from its stored JSON and its document's ``@context``, equals the stored
   ``hash_id``, and ``leaf_hash`` is the leaf hash of that ID (otherwise the row was **modified**; stored
   JSON that no longer reads as an event is **modified** too);
4. each event sits where its capture put it: the capture record (``ledger_documents``: first seq and count)
   says which document and position each seq holds. A row of unknown origin was **inserted**; rows shifted
   up or down mean an insertion or deletion in the middle (told apart by the row count); otherwise the row
   was **reordered**;
5. the RFC 9162 root recomputed at every checkpointed size equals the signed root (a mismatch with all rows
   self-consistent means a consistent rewrite of an event in that checkpoint's range: **modified**);
6. no event lies beyond the log state and no signed checkpoint is longer than the stored log.

The first discrepancy is reported with its kind, seq and hash ID.

**Two passes, one answer.** The *sequential walk* (:class:`_Walk`) is the reference: row after row, it
applies checks 2–5 and names the discrepancy. The *fast pass* (:mod:`vigichem.ledger.verify_chunks`)
splits ``seq`` into aligned chunks of ``chunk_size`` (a power of two) and checks each chunk as a whole: its
rows must be exactly seq ``lo..hi-1``, each at its captured place, each hash ID and leaf hash recomputed
equal. A clean chunk returns only the Merkle subtree hashes the walk needs (its frontier, and the partial
frontiers at checkpoint sizes inside it), so the parent checks the signed roots without touching a row.
Chunks run in worker processes, each with its own database connection reading its own ``seq`` range
(``workers``; by default one per CPU), or in this process. At the first chunk that is not clean, or the
first signed root that differs, the walk takes over row by row from that point with exactly the state a
walk from seq 0 would have had there, so the report (kind, seq, hash ID, message, tree size, root,
checkpoints counted) is the walk's.

**Snapshot.** Every read of this process goes through one snapshot. On PostgreSQL the workers import that
very snapshot (``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``). On SQLite a worker opens its own
read transaction (WAL allows any number of readers beside a writer) and reads only seqs up to the largest
one of the snapshot, so captures committing meanwhile, which only append, are not seen; should a worker
ever read something else, its chunk is not clean and the walk re-reads that range in the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from vigichem.errors import InvalidInput
from vigichem.ledger.checkpoints import append_to_frontier, frontier_root, signature_valid
from vigichem.ledger.db import events
from vigichem.ledger.merkle import event_leaf_hash, node_hash
from vigichem.ledger.models import Checkpoint, Discrepancy, DiscrepancyKind, VerifyReport
from vigichem.ledger.store import LedgerStore, VerifyRow
from vigichem.ledger.verify_chunks import (
    CHUNK_SIZE,
    chunk_results,
    chunk_tasks,
    default_verify_workers,
    shareable,
)
from vigichem.ledger.verify_support import (
    ROW_COLUMNS,
    ChunkResult,
    HashFunction,
    Positions,
    event_document,
    gc_paused,
    loads_stored,
)

__all__ = ["reference_verify_store", "verify_store"]


class _Found(Exception):
    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(discrepancy.message)
        self.discrepancy = discrepancy


class _Unhashable(str):
    """A recomputed "hash ID" standing for stored JSON that does not read or hash as an event (never equal
    to a stored hash ID, which starts with ``ni:///``)."""

    __slots__ = ()


# -- the sequential walk (the reference) -------------------------------------------------------------------


def _rehash(pairs: list[tuple[int, Any]], contexts: dict[int, Any], hash_ids: HashFunction) -> list[str]:
    """Recompute hash IDs of (document id, event JSON) pairs, one call per run from the same document."""
    with gc_paused():
        out: list[str] = []
        start = 0
        while start < len(pairs):
            document_id = pairs[start][0]
            end = start
            while end < len(pairs) and pairs[end][0] == document_id:
                end += 1
            out.extend(
                _rehash_run([text for _doc, text in pairs[start:end]], contexts.get(document_id), hash_ids)
            )
            start = end
        return out


def _rehash_run(texts: list[Any], context: Any, hash_ids: HashFunction) -> list[str]:
    try:
        return hash_ids(event_document([loads_stored(text) for text in texts], context))
    except Exception:  # stored JSON can be anything: find which events fail, one by one
        pass
    out: list[str] = []
    for text in texts:
        try:
            hashed = hash_ids(event_document([loads_stored(text)], context))
            out.append(hashed[0] if len(hashed) == 1 else _Unhashable("no single event"))
        except Exception as error:  # any failure means the stored JSON is not an event
            out.append(_Unhashable(f"{type(error).__name__}: {error}"[:200]))
    return out


def _as_int(value: Any) -> int:
    """A stored integer column; -1 (no document, no index) when the stored value is not an integer."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _verify_row(raw: Any) -> VerifyRow:
    leaf = raw[2]
    return VerifyRow(
        int(raw[0]),
        raw[1],
        bytes(leaf) if isinstance(leaf, bytes | bytearray | memoryview) else b"",
        raw[3],
        _as_int(raw[4]),
        _as_int(raw[5]),
    )


def _rows_from(connection: Connection, start: int, batch_size: int) -> Iterator[list[VerifyRow]]:
    """Stored rows in seq order from seq ``start`` (-1: all of them), in batches, streamed."""
    query = select(*ROW_COLUMNS).order_by(events.c.seq)
    if start >= 0:
        query = query.where(events.c.seq >= start)
    result = connection.execute(query, execution_options={"stream_results": True, "yield_per": batch_size})
    for partition in result.partitions(batch_size):
        yield [_verify_row(raw) for raw in partition]


def _row_at(connection: Connection, seq: int) -> VerifyRow | None:
    raw = connection.execute(select(*ROW_COLUMNS).where(events.c.seq == seq)).first()
    return None if raw is None else _verify_row(raw)


def _found(kind: DiscrepancyKind, row: VerifyRow | None, message: str, seq: int | None = None) -> _Found:
    return _Found(
        Discrepancy(
            kind=kind,
            seq=row.seq if row is not None else seq,
            hash_id=row.hash_id if row is not None else None,
            message=message,
        )
    )


def _check_position(row: VerifyRow, previous: VerifyRow | None, positions: Positions, row_count: int) -> None:
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


def _check_row(
    row: VerifyRow, hash_id: str, size: int, previous: VerifyRow | None, positions: Positions, row_count: int
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
    if isinstance(hash_id, _Unhashable):
        raise _found(
            DiscrepancyKind.MODIFIED,
            row,
            f"event at seq {row.seq} was modified: its stored JSON no longer reads as an event ({hash_id}); "
            f"its recorded hash ID is {row.hash_id}",
        )
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


class _Walk:
    """The verifier's state after the rows so far: the reference walk, and what clean chunks hand it."""

    def __init__(self, by_size: dict[int, list[Checkpoint]], positions: Positions, row_count: int) -> None:
        self.by_size = by_size
        self.positions = positions
        self.row_count = row_count
        self.size = 0
        self.frontier: list[bytes] = []
        self.previous: VerifyRow | None = None
        self.last_checked_size = 0
        self.checked = 0
        # A root that fails at a checkpoint is held back for one row: an insertion or deletion shows at the
        # next row's position, which names the event where the root can only name a range.
        self.pending: _Found | None = None

    def _checkpoint_at(self, size: int, frontier: list[bytes]) -> None:
        try:
            self.checked += _check_roots(self.by_size, size, frontier, self.last_checked_size)
        except _Found as found:
            self.pending = found
        self.last_checked_size = size

    def rows(self, stream: Iterable[tuple[VerifyRow, str]]) -> None:
        """Walk rows (with their recomputed hash IDs) from seq ``size`` on; raises the first discrepancy."""
        for row, hash_id in stream:
            try:
                _check_row(row, hash_id, self.size, self.previous, self.positions, self.row_count)
            except _Found as found:
                seq = found.discrepancy.seq
                if self.pending is None or (seq is not None and seq < self.size):
                    raise
                raise self.pending from None
            if self.pending is not None:
                raise self.pending
            self.size = append_to_frontier(self.frontier, self.size, (row.leaf_hash,))
            if self.size in self.by_size:
                self._checkpoint_at(self.size, self.frontier)
            self.previous = row

    def chunk(self, result: ChunkResult) -> bool:
        """Take a clean chunk starting at ``size``; False when a signed root in it differs (``size`` is then
        that checkpoint's size and the walk must go on row by row from there)."""
        for size, cut in sorted(result.cuts.items()):
            # The chunk's partial frontier holds subtrees smaller than any of ours (lo is a multiple of the
            # chunk size): appended, it is the frontier at this size.
            frontier = self.frontier + cut
            self._checkpoint_at(size, frontier)
            if self.pending is not None:
                self.frontier, self.size = frontier, size
                return False
        count = result.hi - result.lo
        heights = [height for height in range(count.bit_length() - 1, -1, -1) if count >> height & 1]
        for subtree, height in zip(result.frontier, heights, strict=True):
            self.size = _append_subtree(self.frontier, self.size, subtree, height)
        if self.size in self.by_size:
            self._checkpoint_at(self.size, self.frontier)
            return self.pending is None
        return True

    def finish(
        self, positions_total: int, longest: int, recorded_size: int, last_row: Callable[[], Any]
    ) -> None:
        """The checks after the last row: a root held back, rows missing at the end, the log state."""
        if self.pending is not None:
            raise self.pending
        if self.size < positions_total:
            raise _found(
                DiscrepancyKind.DELETED,
                None,
                f"the event(s) captured at seq {self.size}..{positions_total - 1} are missing: deleted",
                seq=self.size,
            )
        if longest > self.size:
            raise _found(
                DiscrepancyKind.DELETED,
                None,
                f"a signed checkpoint covers {longest} events but only {self.size} are stored: "
                f"seq {self.size} onwards deleted",
                seq=self.size,
            )
        if recorded_size != self.size:
            raise _found(
                DiscrepancyKind.INSERTED if self.size > recorded_size else DiscrepancyKind.DELETED,
                last_row(),
                f"the log state records {recorded_size} events but {self.size} are stored",
            )


def _append_subtree(frontier: list[bytes], size: int, subtree: bytes, height: int) -> int:
    """Append the complete subtree of ``2**height`` leaves at ``size`` (a multiple of it); return the size."""
    frontier.append(subtree)
    carry = size >> height
    while carry & 1:
        right = frontier.pop()
        frontier[-1] = node_hash(frontier[-1], right)
        carry >>= 1
    return size + (1 << height)


# -- entry points ----------------------------------------------------------------------------------------


def verify_store(
    store: LedgerStore,
    public_key: bytes,
    hash_ids: HashFunction,
    batch_size: int = 5_000,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> VerifyReport:
    """Recompute everything from storage; the report names the first discrepancy (see the module doc).

    ``workers``: processes for the fast pass (None: :func:`default_verify_workers`; 1: this process). A
    ledger of one chunk, or an in-memory SQLite database, is checked in this process. ``batch_size``: rows
    per read of the row-by-row walk. Every read of this process goes through one snapshot, so captures
    committing meanwhile are simply not seen.
    """
    if workers is not None and workers < 1:
        raise InvalidInput(f"verify needs at least one worker process, not {workers}")
    if chunk_size < 1 or chunk_size & (chunk_size - 1):
        raise InvalidInput(f"the verify chunk size must be a power of two, not {chunk_size}")
    with store.snapshot() as connection:
        return _verify_snapshot(store, connection, public_key, hash_ids, batch_size, workers, chunk_size)


def reference_verify_store(
    store: LedgerStore, public_key: bytes, hash_ids: HashFunction, batch_size: int = 5_000
) -> VerifyReport:
    """The row-by-row walk from seq 0 alone, in this process: the reference the fast pass must agree with."""
    with store.snapshot() as connection:
        return _verify_snapshot(store, connection, public_key, hash_ids, batch_size, 1, 0)


def _verify_snapshot(
    store: LedgerStore,
    connection: Connection,
    public_key: bytes,
    hash_ids: HashFunction,
    batch_size: int,
    workers: int | None,
    chunk_size: int,
) -> VerifyReport:
    signed = store.checkpoints(connection)
    by_size: dict[int, list[Checkpoint]] = {}
    for checkpoint in signed:
        by_size.setdefault(checkpoint.tree_size, []).append(checkpoint)
    sizes = sorted(by_size)
    contexts = store.document_contexts(connection)
    positions = Positions(contexts)
    first_seq, last_seq, row_count = connection.execute(
        select(func.min(events.c.seq), func.max(events.c.seq), func.count()).select_from(events)
    ).one()
    recorded_size, _recorded_root = store.log_state(connection)
    walk = _Walk(by_size, positions, int(row_count))
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
        walk.checked += _check_roots(by_size, 0, walk.frontier, 0)
        # Where the row-by-row walk starts: None (every row is done), or a seq (-1: from the first row stored,
        # whatever its seq; the fast pass needs seq 0 first).
        resume: int | None = None
        if first_seq is not None and (chunk_size == 0 or first_seq != 0):
            resume = -1
        elif first_seq is not None:
            end = int(last_seq) + 1
            count = min(-(-end // chunk_size), default_verify_workers() if workers is None else workers)
            if count > 1 and not shareable(store.engine):
                count = 1
            results = chunk_results(
                store, connection, chunk_tasks(positions, contexts, sizes, end, chunk_size), hash_ids, count
            )
            try:
                for result in results:
                    if result is None or not walk.chunk(result):
                        resume = walk.size
                        break
            finally:
                results.close()
        if resume is not None:
            if resume > 0:
                walk.previous = _row_at(connection, resume - 1)
            walk.rows(_rehashed(_rows_from(connection, resume, batch_size), contexts, hash_ids))
        walk.finish(
            positions.total,
            sizes[-1] if sizes else 0,
            recorded_size,
            lambda: walk.previous if resume is not None else _row_at(connection, walk.size - 1),
        )
    except _Found as found:
        return VerifyReport(
            ok=False,
            tree_size=walk.size,
            root=frontier_root(walk.frontier),
            checkpoints_checked=walk.checked,
            discrepancy=found.discrepancy,
            latest_checkpoint=signed[-1] if signed else None,
        )
    return VerifyReport(
        ok=True,
        tree_size=walk.size,
        root=frontier_root(walk.frontier),
        checkpoints_checked=walk.checked,
        latest_checkpoint=signed[-1] if signed else None,
    )


def _rehashed(
    batches: Iterable[list[VerifyRow]], documents: dict[int, tuple[int, int, Any]], hash_ids: HashFunction
) -> Iterator[tuple[VerifyRow, str]]:
    """Rows with the hash IDs recomputed from their stored JSON, batch by batch."""
    contexts = {document_id: context for document_id, (_first, _count, context) in documents.items()}
    for batch in batches:
        recomputed = _rehash([(row.document_id, row.event_json) for row in batch], contexts, hash_ids)
        yield from zip(batch, recomputed, strict=True)
