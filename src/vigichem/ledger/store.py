"""Persistence of the ledger: atomic, serialised appends and the reads that verification and queries need.

**Appending.** :meth:`LedgerStore.append` stores a document's new events in one transaction: the document
row, the events with their index rows (``executemany`` batches), the log state (tree size and frontier) and,
when a signer is given, a signed checkpoint of the new tree. Appenders are serialised so that ``seq`` is
gap-free and equals commit order: on SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the database
write lock), on PostgreSQL it locks the single ``ledger_log_state`` row with ``SELECT ... FOR UPDATE``.
Either the whole document commits or nothing does.

**Duplicates.** An event whose hash ID is already in the ledger (or appears earlier in the same document) is
a duplicate: it is reported, not stored again. A document mixing new and duplicate events stores its new
events (in document order) and reports the others; a document made only of duplicates stores nothing at all
(no document row, no checkpoint), so re-sending a document is a no-op.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from psycopg import DataError as PsycopgDataError
from sqlalchemy import ColumnElement, Connection, DateTime, Engine, func, select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import DataError as DBAPIDataError

from vigichem.errors import InvalidDocument, NotFound
from vigichem.ledger.bulk import bulk_insert_tuples
from vigichem.ledger.checkpoints import (
    append_to_frontier,
    frontier_from_bytes,
    frontier_root,
    frontier_to_bytes,
)
from vigichem.ledger.db import (
    WRITE_LOCK,
    checkpoints,
    documents,
    epcs,
    events,
    is_postgresql,
    log_state,
    quantities,
    sources,
)
from vigichem.ledger.indexing import (
    EPC_COLUMNS,
    EVENT_COLUMNS,
    QUANTITY_COLUMNS,
    SOURCE_COLUMNS,
    IndexedEvent,
    stored_time,
)
from vigichem.ledger.jsonio import loads
from vigichem.ledger.merkle import MerkleTree, event_leaf_hash
from vigichem.ledger.models import CaptureResult, Checkpoint, StoredEvent

__all__ = ["CheckpointSigner", "DocumentMeta", "LedgerStore", "VerifyRow", "utc_now"]

CheckpointSigner = Callable[[int, bytes, datetime], Checkpoint]
"""Signs (tree size, root, time) with the node key (:func:`vigichem.ledger.checkpoints.sign_checkpoint`)."""

# The columns of the rows _insert_events builds: "seq", then the tuples of vigichem.ledger.indexing.
_EVENT_NAMES = (
    "seq",
    *EVENT_COLUMNS,
    "record_time",
    "document_id",
    "document_index",
    "event_json",
    "leaf_hash",
)
_QUANTITY_NAMES = ("seq", *QUANTITY_COLUMNS)
_EPC_NAMES = ("seq", *EPC_COLUMNS)
_SOURCE_NAMES = ("seq", *SOURCE_COLUMNS)

_IN_CHUNK = 500  # stays far below SQLite's and PostgreSQL's bound-parameter limits


def utc_now() -> datetime:
    """The current time as the ledger stores it (naive UTC, microseconds)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """Document-level facts stored once per capture: its ``@context`` (needed to rehash), id and header."""

    context_json: str
    epcis_document_id: str | None = None
    header_json: str | None = None


class VerifyRow(NamedTuple):
    """One stored event as verification reads it, in seq order (a tuple: a million are made per verify)."""

    seq: int
    hash_id: str
    leaf_hash: bytes
    event_json: str
    document_id: int
    document_index: int


# The append's statements, written once and run through the driver: SQLAlchemy Core spends about as much
# CPU compiling and processing these four small statements as a single-event capture spends on everything
# else (the transaction itself, with WRITE_LOCK, stays SQLAlchemy's). "?" placeholders; PostgreSQL's
# driver gets "%s" (see _driver_row).
_SELECT_LOG_STATE = "SELECT tree_size, frontier FROM ledger_log_state WHERE id = 1"
_INSERT_DOCUMENT = (
    "INSERT INTO ledger_documents (epcis_document_id, received_at, first_seq, event_count, duplicate_count, "
    "context_json, header_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_UPDATE_LOG_STATE = "UPDATE ledger_log_state SET tree_size = ?, frontier = ? WHERE id = 1"
_INSERT_CHECKPOINT = (
    "INSERT INTO ledger_checkpoints (tree_size, root, time, signature, key_id) VALUES (?, ?, ?, ?, ?)"
)


def _driver_row(connection: Connection, statement: str, parameters: tuple[Any, ...]) -> Any:
    """Run one statement on the connection's driver cursor; its first row (None when it returns none)."""
    if connection.dialect.name == "postgresql":
        statement = statement.replace("?", "%s")
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, parameters)
        return cursor.fetchone() if cursor.description is not None else None
    finally:
        cursor.close()


_SQLITE_DATETIME = DateTime().dialect_impl(sqlite_dialect()).bind_processor(sqlite_dialect())


def _stored_datetime(connection: Connection, moment: datetime) -> Any:
    """A datetime as SQLAlchemy would bind it: its SQLite text, or the datetime itself for PostgreSQL."""
    if connection.dialect.name == "sqlite" and _SQLITE_DATETIME is not None:
        return _SQLITE_DATETIME(moment)
    return moment


class LedgerStore:
    """The ledger tables behind one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tree = MerkleTree()
        self._tree_lock = threading.Lock()

    # -- appending -------------------------------------------------------------------------------------

    def append(
        self,
        indexed: Sequence[IndexedEvent],
        meta: DocumentMeta,
        signer: CheckpointSigner | None = None,
    ) -> CaptureResult:
        """Store the new events of one document atomically; report duplicates; sign the new tree head."""
        try:
            return self._append(indexed, meta, signer)
        except (DBAPIDataError, PsycopgDataError) as exc:
            # A value valid EPCIS but not storable (e.g. a NUL character for PostgreSQL): nothing was stored.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidDocument(
                f"the document holds a value the database cannot store: {reason}",
                details={"errors": [{"path": "", "message": reason}]},
            ) from None

    def _append(
        self,
        indexed: Sequence[IndexedEvent],
        meta: DocumentMeta,
        signer: CheckpointSigner | None,
    ) -> CaptureResult:
        with self.engine.connect().execution_options(**WRITE_LOCK) as connection, connection.begin():
            tree_size, frontier = self._lock_log_state(connection)
            existing = self._existing_hash_ids(connection, [item.hash_id for item in indexed])
            new: list[IndexedEvent] = []
            duplicates: list[str] = []
            seen: set[str] = set()
            for item in indexed:
                if item.hash_id in existing or item.hash_id in seen:
                    duplicates.append(item.hash_id)
                else:
                    seen.add(item.hash_id)
                    new.append(item)
            if not new:
                return CaptureResult(
                    new=[], duplicates=duplicates, tree_size=tree_size, first_seq=tree_size, document_id=None
                )
            now = utc_now()
            document_id = int(
                _driver_row(
                    connection,
                    _INSERT_DOCUMENT,
                    (
                        meta.epcis_document_id,
                        _stored_datetime(connection, now),
                        tree_size,
                        len(new),
                        len(duplicates),
                        meta.context_json,
                        meta.header_json,
                    ),
                )[0]
            )
            leaves = [event_leaf_hash(item.hash_id) for item in new]
            self._insert_events(connection, new, leaves, tree_size, document_id, now)
            new_size = append_to_frontier(frontier, tree_size, leaves)
            _driver_row(connection, _UPDATE_LOG_STATE, (new_size, frontier_to_bytes(frontier)))
            checkpoint = None
            if signer is not None:
                checkpoint = signer(new_size, frontier_root(frontier), now)
                self._insert_checkpoint(connection, checkpoint)
        return CaptureResult(
            new=[item.hash_id for item in new],
            duplicates=duplicates,
            tree_size=new_size,
            first_seq=tree_size,
            document_id=document_id,
            checkpoint=checkpoint,
        )

    def _lock_log_state(self, connection: Connection) -> tuple[int, list[bytes]]:
        query = _SELECT_LOG_STATE + (" FOR UPDATE" if is_postgresql(self.engine) else "")
        row = _driver_row(connection, query, ())
        return int(row[0]), frontier_from_bytes(bytes(row[1]))

    @staticmethod
    def _existing_hash_ids(connection: Connection, hash_ids: list[str]) -> set[str]:
        # Straight to the driver: SQLAlchemy's expanding IN compiles a new statement for every chunk size.
        # PostgreSQL takes the whole list as one array parameter; SQLite as chunks of bound parameters.
        unique = list(dict.fromkeys(hash_ids))
        table = connection.dialect.identifier_preparer.format_table(events)
        cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        found: set[str] = set()
        try:
            if connection.dialect.name == "postgresql":
                cursor.execute(f"SELECT hash_id FROM {table} WHERE hash_id = ANY(%s)", (unique,))
                found.update(row[0] for row in cursor.fetchall())
                return found
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor.execute(f"SELECT hash_id FROM {table} WHERE hash_id IN ({marks})", chunk)
                found.update(row[0] for row in cursor.fetchall())
        finally:
            cursor.close()
        return found

    @staticmethod
    def _insert_events(
        connection: Connection,
        new: list[IndexedEvent],
        leaves: list[bytes],
        first_seq: int,
        document_id: int,
        now: datetime,
    ) -> None:
        # Rows are built as tuples in column order and handed to the driver (see vigichem.ledger.bulk),
        # already in the form the database stores: times as text (indexing.stored_time, which PostgreSQL's
        # COPY parses too); sqlite3 binds the boolean error_declaration as 1/0 itself (bool is an int).
        record_time = stored_time(now)
        event_rows: list[tuple[Any, ...]] = []
        quantity_rows: list[tuple[Any, ...]] = []
        epc_rows: list[tuple[Any, ...]] = []
        source_rows: list[tuple[Any, ...]] = []
        for index, item in enumerate(new):
            seq = first_seq + index
            event_rows.append(
                (seq, *item.row, record_time, document_id, index, item.event_json, leaves[index])
            )
            if item.quantities:
                quantity_rows.extend((seq, *child) for child in item.quantities)
            if item.epcs:
                epc_rows.extend((seq, *child) for child in item.epcs)
            if item.sources:
                source_rows.extend((seq, *child) for child in item.sources)
        bulk_insert_tuples(connection, events, _EVENT_NAMES, event_rows, converted=True)
        bulk_insert_tuples(connection, quantities, _QUANTITY_NAMES, quantity_rows, converted=True)
        bulk_insert_tuples(connection, epcs, _EPC_NAMES, epc_rows, converted=True)
        bulk_insert_tuples(connection, sources, _SOURCE_NAMES, source_rows, converted=True)

    @staticmethod
    def _insert_checkpoint(connection: Connection, checkpoint: Checkpoint) -> None:
        _driver_row(
            connection,
            _INSERT_CHECKPOINT,
            (
                checkpoint.tree_size,
                checkpoint.root,
                _stored_datetime(connection, checkpoint.time),
                checkpoint.signature,
                checkpoint.key_id,
            ),
        )

    def sign_current(self, signer: CheckpointSigner) -> Checkpoint:
        """Sign and store a checkpoint of the log as it is now (on demand; appends sign their own)."""
        with self.engine.connect().execution_options(**WRITE_LOCK) as connection, connection.begin():
            tree_size, frontier = self._lock_log_state(connection)
            checkpoint = signer(tree_size, frontier_root(frontier), utc_now())
            self._insert_checkpoint(connection, checkpoint)
        return checkpoint

    # -- reading ---------------------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see one consistent state, even while captures go on.

        PostgreSQL: a ``REPEATABLE READ`` transaction; SQLite: one read transaction (WAL keeps its snapshot).
        Verification reads through it, so a capture committing mid-way is not mistaken for tampering.
        """
        options: dict[str, Any] = {"isolation_level": "REPEATABLE READ"} if is_postgresql(self.engine) else {}
        with self.engine.connect().execution_options(**options) as connection, connection.begin():
            yield connection

    @contextmanager
    def _reading(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
            return
        with self.engine.connect() as own:
            yield own

    def log_state(self, connection: Connection | None = None) -> tuple[int, bytes]:
        """The recorded tree size and root (from the log state, not recomputed)."""
        with self._reading(connection) as reader:
            row = reader.execute(select(log_state.c.tree_size, log_state.c.frontier)).one()
        return int(row.tree_size), frontier_root(frontier_from_bytes(bytes(row.frontier)))

    def event_count(self, connection: Connection | None = None) -> int:
        """How many event rows are stored."""
        with self._reading(connection) as reader:
            return int(reader.execute(select(func.count()).select_from(events)).scalar_one())

    def checkpoints(self, connection: Connection | None = None) -> list[Checkpoint]:
        """Every stored checkpoint, oldest first."""
        with self._reading(connection) as reader:
            rows = reader.execute(select(checkpoints).order_by(checkpoints.c.id)).all()
        return [
            Checkpoint(
                tree_size=int(row.tree_size),
                root=bytes(row.root),
                time=row.time,
                signature=bytes(row.signature),
                key_id=row.key_id,
            )
            for row in rows
        ]

    def latest_checkpoint(self) -> Checkpoint | None:
        """The most recent checkpoint, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return Checkpoint(
            tree_size=int(row.tree_size),
            root=bytes(row.root),
            time=row.time,
            signature=bytes(row.signature),
            key_id=row.key_id,
        )

    def document_contexts(self, connection: Connection | None = None) -> dict[int, tuple[int, int, Any]]:
        """Per stored document: (first seq, event count, parsed ``@context``)."""
        with self._reading(connection) as reader:
            rows = reader.execute(
                select(
                    documents.c.id, documents.c.first_seq, documents.c.event_count, documents.c.context_json
                )
            ).all()
        return {
            int(row.id): (int(row.first_seq), int(row.event_count), json.loads(row.context_json))
            for row in rows
        }

    def tree(self) -> MerkleTree:
        """The Merkle tree of the stored leaf hashes, cached and extended with new leaves on each call."""
        with self._tree_lock, self.engine.connect() as connection:
            new_leaves = connection.execute(
                select(events.c.leaf_hash).where(events.c.seq >= self._tree.size).order_by(events.c.seq)
            ).scalars()
            self._tree.extend(bytes(leaf) for leaf in new_leaves)
        return self._tree

    def seq_of(self, hash_id: str) -> int:
        """The log index of an event, or :class:`NotFound`."""
        with self.engine.connect() as connection:
            seq = connection.execute(select(events.c.seq).where(events.c.hash_id == hash_id)).scalar()
        if seq is None:
            raise NotFound(f"no event with hash ID {hash_id!r} in this ledger", details={"hashId": hash_id})
        return int(seq)

    def count_events(self, conditions: Sequence[ColumnElement[bool]]) -> int:
        """How many stored events match all ``conditions``."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(events).where(*conditions)).scalar_one()
            )

    def select_events(
        self,
        conditions: Sequence[ColumnElement[bool]],
        *,
        order_by: Sequence[ColumnElement[Any]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StoredEvent]:
        """Stored events matching all ``conditions``, ordered by ``order_by`` then seq, paged."""
        query = (
            select(
                events.c.seq,
                events.c.hash_id,
                events.c.record_time,
                events.c.event_json,
                events.c.leaf_hash,
                documents.c.context_json,
            )
            .join(documents, documents.c.id == events.c.document_id)
            .where(*conditions)
            .order_by(*order_by, events.c.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        contexts: dict[str, Any] = {}
        out: list[StoredEvent] = []
        for row in rows:
            if row.context_json not in contexts:
                contexts[row.context_json] = json.loads(row.context_json)
            out.append(
                StoredEvent(
                    seq=int(row.seq),
                    hash_id=row.hash_id,
                    record_time=row.record_time,
                    event=loads(row.event_json),
                    context=contexts[row.context_json],
                    leaf_hash=bytes(row.leaf_hash),
                )
            )
        return out
