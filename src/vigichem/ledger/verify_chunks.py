"""The fast pass of :mod:`vigichem.ledger.verification`: aligned chunks of rows checked as wholes.

A chunk ``lo..hi-1`` (``hi - lo`` a power of two, ``lo`` a multiple of it: an aligned Merkle subtree) is
clean when its rows are exactly those seqs, each at its captured place, each hash ID and leaf hash
recomputed equal; a clean chunk hands back only the subtree hashes the walk needs. Chunks run in this
process or in worker processes, each with its own connection reading its own ``seq`` range (on PostgreSQL
inside the parent's exported snapshot). Anything not clean returns None: the walk decides.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from vigichem.ledger.db import create_engine_from_url, events, is_postgresql, is_sqlite
from vigichem.ledger.processes import in_order, usable_cpus, worker_context
from vigichem.ledger.store import LedgerStore
from vigichem.ledger.verify_support import (
    ROW_COLUMNS,
    ChunkResult,
    HashFunction,
    Positions,
    event_document,
    gc_paused,
    loads_stored,
)

__all__ = [
    "CHUNK_SIZE",
    "ChunkTask",
    "RangeReader",
    "check_chunk",
    "chunk_results",
    "chunk_tasks",
    "default_verify_workers",
    "frontier_of",
    "shareable",
    "subtree_levels",
]

CHUNK_SIZE = 1 << 14
"""Rows per chunk of the fast pass: a power of two (chunks are aligned Merkle subtrees); about 10 MB of
stored JSON, a fraction of a second of work, and enough chunks at 1M events (61) to keep workers even."""

_sha256 = hashlib.sha256
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")


# -- the fast pass: one chunk ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """Rows ``lo..hi-1``, the capture runs expected there (document, its first seq, start, end), the
    documents' ``@context``, and the checkpoint sizes strictly inside the chunk."""

    lo: int
    hi: int
    runs: list[tuple[int, int, int, int]]
    contexts: dict[int, Any]
    cuts: tuple[int, ...]


class RangeReader:
    """Reads the rows of a seq range through a DB-API connection already inside a read transaction."""

    def __init__(self, dbapi_connection: Any, paramstyle: str) -> None:
        mark = "?" if paramstyle == "qmark" else "%s"
        names = ", ".join(column.name for column in ROW_COLUMNS)
        self._sql = f"SELECT {names} FROM {events.name} WHERE seq >= {mark} AND seq < {mark} ORDER BY seq"
        self._connection = dbapi_connection

    def rows(self, lo: int, hi: int) -> list[Any]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql, (lo, hi))
            return list(cursor.fetchall())
        finally:
            cursor.close()


def check_chunk(reader: RangeReader, task: ChunkTask, hash_ids: HashFunction) -> ChunkResult | None:
    """The chunk's result if every row passes every row check of the walk, else None (the walk decides)."""
    with gc_paused():
        lo, hi = task.lo, task.hi
        if not task.runs:  # seqs no capture accounts for: the walk names what is there
            return None
        rows = reader.rows(lo, hi)
        # seq is the primary key and the query keeps lo <= seq < hi: as many rows as seqs means all of them.
        if len(rows) != hi - lo:
            return None
        expected_documents: list[int] = []
        expected_indexes: list[int] = []
        stored: list[str] = []
        recomputed: list[str] = []
        for document_id, first, start, end in task.runs:
            expected_documents += [document_id] * (end - start)
            expected_indexes += range(start - first, end - first)
            run = rows[start - lo : end - lo]
            try:
                recomputed += hash_ids(
                    event_document([loads_stored(row[3]) for row in run], task.contexts[document_id])
                )
            except Exception:  # stored JSON can be anything; the walk names the event
                return None
            stored += [row[1] for row in run]
        if (
            [row[4] for row in rows] != expected_documents
            or [row[5] for row in rows] != expected_indexes
            or recomputed != stored
        ):
            return None
        leaves = [_sha256(b"\x00" + hash_id.encode("ascii")).digest() for hash_id in stored]
        if [row[2] for row in rows] != leaves:
            return None
        levels = subtree_levels(leaves)
        return ChunkResult(
            lo,
            hi,
            frontier_of(levels, hi - lo),
            {size: frontier_of(levels, size - lo) for size in task.cuts},
        )


def subtree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """``levels[k][i]``: the hash of the complete subtree of ``2**k`` leaves starting at leaf ``i * 2**k``."""
    levels = [leaves]
    prefix = b"\x01"
    while len(levels[-1]) >= 2:
        level = levels[-1]
        levels.append(
            [
                _sha256(prefix + left + right).digest()
                for left, right in zip(level[0::2], level[1::2], strict=False)
            ]
        )
    return levels


def frontier_of(levels: list[list[bytes]], count: int) -> list[bytes]:
    """The frontier (largest subtree first) of the first ``count`` leaves of ``levels``."""
    out: list[bytes] = []
    offset = 0
    for height in range(count.bit_length() - 1, -1, -1):
        if count >> height & 1:
            out.append(levels[height][offset >> height])
            offset += 1 << height
    return out


# -- the fast pass: workers ------------------------------------------------------------------------------

_worker: tuple[Connection, RangeReader, HashFunction] | None = None


def _start_worker(url: str, snapshot: str | None, hash_ids: HashFunction) -> None:
    """Open this worker's connection and read transaction (PostgreSQL: inside the parent's snapshot)."""
    global _worker
    engine: Engine
    if snapshot is None:
        engine = create_engine_from_url(url, poolclass=NullPool)
        connection = engine.connect()
        connection.begin()
    else:
        # No pool pre-ping: "SET TRANSACTION SNAPSHOT" must be the first statement of the transaction.
        engine = create_engine(url, poolclass=NullPool)
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        connection.begin()
        connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    reader = RangeReader(connection.connection.driver_connection, engine.dialect.paramstyle)
    _worker = (connection, reader, hash_ids)


def _worker_chunk(task: ChunkTask) -> ChunkResult | None:
    if _worker is None:  # pragma: no cover - the pool initializer opens it
        raise RuntimeError("verify worker used before its connection was opened")
    _connection, reader, hash_ids = _worker
    return check_chunk(reader, task, hash_ids)


def default_verify_workers() -> int:
    """Processes for the fast pass: one per CPU this process may use (the parent only waits)."""
    return usable_cpus()


def shareable(engine: Engine) -> bool:
    """Whether other processes can open this database (not an in-memory SQLite database)."""
    if not is_sqlite(engine):
        return True
    database = engine.url.database
    return bool(database) and database != ":memory:" and "memory" not in str(engine.url.query.get("mode", ""))


def _export_snapshot(connection: Connection) -> str:
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    if not isinstance(snapshot, str) or not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"unexpected snapshot identifier from PostgreSQL: {snapshot!r}")
    return snapshot


def chunk_results(
    store: LedgerStore,
    connection: Connection,
    tasks: Iterator[ChunkTask],
    hash_ids: HashFunction,
    workers: int,
) -> Generator[ChunkResult | None, None, None]:
    """Each task's result, in task order; in this process or in ``workers`` processes (bounded read-ahead)."""
    if workers <= 1:
        dialect = store.engine.dialect
        reader = RangeReader(connection.connection.driver_connection, dialect.paramstyle)
        for task in tasks:
            yield check_chunk(reader, task, hash_ids)
        return
    snapshot = _export_snapshot(connection) if is_postgresql(store.engine) else None
    url = store.engine.url.render_as_string(hide_password=False)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=worker_context(),
        initializer=_start_worker,
        initargs=(url, snapshot, hash_ids),
    )
    try:
        for _task, result in in_order(pool, _worker_chunk, tasks, 2 * workers + 1):
            yield result
    finally:
        # Also when the walk takes over early: queued chunks are dropped, running ones finish.
        pool.shutdown(wait=True, cancel_futures=True)


def chunk_tasks(
    positions: Positions,
    contexts: dict[int, tuple[int, int, Any]],
    sizes: list[int],
    end: int,
    chunk_size: int,
) -> Iterator[ChunkTask]:
    for lo in range(0, end, chunk_size):
        hi = min(lo + chunk_size, end)
        runs = positions.runs(lo, hi)
        if any(document_id is None for document_id, _first, _start, _end in runs):
            yield ChunkTask(lo, hi, [], {}, ())  # not clean, whatever is stored: the walk takes over here
            return
        clean_runs = [(int(doc), first, start, stop) for doc, first, start, stop in runs if doc is not None]
        cuts = tuple(sizes[bisect.bisect_right(sizes, lo) : bisect.bisect_left(sizes, hi)])
        yield ChunkTask(lo, hi, clean_runs, {doc: contexts[doc][2] for doc, *_ in clean_runs}, cuts)
