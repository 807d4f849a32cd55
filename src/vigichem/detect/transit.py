"""The transit check of the ledger's balance, kept up to date incrementally for the streaming scans.

:func:`vigichem.ledger.balance_sql.transit_rows` answers "which shipments are not (fully) received" by
reading the shipments and receipts of the whole ledger: streaming detection asks it every 7 days of event
time, so its cost grew with the ledger. :class:`TransitTracker` gives the same rows (and so the same
:func:`vigichem.ledger.balance.transit_issues`) from what it read before plus the rows stored since:

* the shipment and receipt quantity rows are read once each, by ``seq`` (the ledger appends under a lock,
  so ``seq`` grows with every commit and nothing appears behind the last one read);
* they are grouped per (destination, epcClass, unit), as the balance groups them; a group is summed and
  paired again only when it changed: new rows, rows that the moving ``as_of`` now takes in, or a change in
  the withdrawn (error-declared) events; the other groups keep their rows;
* the rules of the balance are unchanged: a group whose shipments and receipts agree in number and total
  (rounded to 6 decimals) is reconciled as a whole; in the others each shipment is paired, first in first
  out in (event time, seq, ordinal) order, with the receipt of the same rank.

The sums are taken in Python (:func:`math.fsum`, exact) where the database sums in its own order: the two
can differ only in the last bits, which the rounding to 6 decimals removes unless a total falls on the
rounding boundary itself. ``tests/detect/test_transit.py`` compares both over random ledgers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Select, false, func, select

from vigichem.ledger.balance_models import TransitIssue

__all__ = ["TransitTracker", "WithdrawnEvents", "driver_rows", "last_seq", "stored_datetime"]

Group = tuple[str, str, str]  # (destination site, epcClass, unit)


@dataclass(frozen=True, slots=True, order=True)
class _Row:
    """One shipment or receipt quantity row; ordered as the balance orders them."""

    event_time: dt.datetime
    seq: int
    ordinal: int
    hash_id: str = field(compare=False)
    quantity: float = field(compare=False)
    origin: str | None = field(compare=False, default=None)


@dataclass(slots=True)
class _Group:
    shipments: list[_Row] = field(default_factory=list)
    receipts: list[_Row] = field(default_factory=list)
    # The group's transit rows (none: balanced), each with its shipment's (event time, seq, ordinal): the
    # balance lists them in that order before sorting them by shipping time and event, a stable sort.
    pairs: list[tuple[tuple[dt.datetime, int, int], dict[str, Any]]] = field(default_factory=list)
    pending: dt.datetime | None = None  # the earliest row after the as_of it was last paired at
    dirty: bool = True


class WithdrawnEvents:
    """The hash IDs that error declarations withdrew, as :func:`vigichem.ledger.balance.withdrawn_hash_ids`
    gives them, read by ``seq`` range: that function scans every stored event for the few declarations."""

    def __init__(self) -> None:
        self._after = -1
        self._ids: set[str] = set()

    def refresh(self, connection: Connection, upto: int) -> frozenset[str]:
        """Read the declarations stored up to ``upto`` (seq) not read yet; return every withdrawn ID."""
        import json

        from vigichem.ledger.db import documents, events
        from vigichem.ledger.hashid import event_hash_id, namespaces_from_context

        if upto > self._after:
            query = (
                select(events.c.event_json, documents.c.context_json)
                .select_from(events.join(documents, documents.c.id == events.c.document_id))
                .where(events.c.seq > self._after, events.c.seq <= upto, events.c.error_declaration.is_(True))
                .order_by(events.c.seq)
            )
            for event_json, context_json in connection.execute(query):
                # As withdrawn_hash_ids: the eventID, and the CBV hash of the event without its declaration.
                event = json.loads(event_json)
                if isinstance(event.get("eventID"), str):
                    self._ids.add(event["eventID"])
                plain = {key: value for key, value in event.items() if key != "errorDeclaration"}
                namespaces = namespaces_from_context(json.loads(context_json) if context_json else None)
                self._ids.add(event_hash_id(plain, namespaces))
            self._after = upto
        return frozenset(self._ids)


def driver_rows(connection: Connection, query: Select[Any], batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """The rows of a Core query, read straight from the driver's cursor as plain tuples.

    SQLAlchemy's result fetches and processes one row at a time (a ``Row`` per row, a result processor
    per typed column): several microseconds per row, for the hundreds of thousands of quantity rows that
    the book and the tracker read. Here the statement is compiled once per call and the driver's rows are
    taken as they come, so the result types are not applied: a ``DateTime`` column comes back as the text
    SQLite stores (:func:`stored_datetime` reads it) or as PostgreSQL's ``datetime``.
    """
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    positions = compiled.positiontup
    parameters: Any = (
        tuple(compiled.params[name] for name in positions) if positions is not None else compiled.params
    )
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), parameters)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def stored_datetime(value: Any) -> dt.datetime:
    """A stored ``DateTime`` value read by :func:`driver_rows` as SQLAlchemy reads it: a naive datetime
    (SQLite's text ``YYYY-MM-DD HH:MM:SS.ffffff``, as the ledger and SQLAlchemy write it, is parsed)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def last_seq(connection: Connection) -> int:
    """The seq of the last stored event (-1 when none)."""
    from vigichem.ledger.db import events

    last = connection.execute(select(func.max(events.c.seq))).scalar()
    return -1 if last is None else int(last)


class TransitTracker:
    """The balance's transit rows of one ledger, refreshed from the rows stored since the last call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._groups: dict[Group, _Group] = {}
        self._last_seq = -1
        self._as_of: dt.datetime | None = None
        self._withdrawn: frozenset[str] = frozenset()
        self._declarations = WithdrawnEvents()

    def issues(self, as_of: dt.datetime, days: float) -> list[TransitIssue]:
        """Transit issues as of ``as_of`` (aware or naive UTC), as
        ``transit_issues(transit_rows(...), as_of, days)`` of the balance gives them."""
        from vigichem.ledger.balance import transit_issues

        moment = as_of.astimezone(dt.UTC).replace(tzinfo=None) if as_of.tzinfo else as_of
        return list(transit_issues(self.rows(moment), moment, days))

    def rows(self, as_of: dt.datetime) -> list[dict[str, Any]]:
        """The transit rows as of ``as_of`` (naive UTC), sorted by shipping time then shipment event."""
        with self.engine.connect() as connection:
            # The last seq first: rows stored while these statements run are left for the next call.
            upto = last_seq(connection)
            withdrawn = self._declarations.refresh(connection, upto)
            self._read(connection, upto)
        everything = withdrawn != self._withdrawn or (self._as_of is not None and as_of < self._as_of)
        self._withdrawn = withdrawn
        out: list[tuple[tuple[dt.datetime, int, int], dict[str, Any]]] = []
        for key, group in self._groups.items():
            if everything or group.dirty or (group.pending is not None and group.pending <= as_of):
                self._pair(key, group, as_of)
            out.extend(group.pairs)
        self._as_of = as_of
        out.sort(key=lambda item: item[0])
        return sorted((pair for _, pair in out), key=lambda p: (p["shipped_at"], p["shipment_event"]))

    # ---- reading the new rows -------------------------------------------------------------------------
    def _read(self, connection: Connection, upto: int) -> None:
        from vigichem.ledger.balance_sql import CATEGORY_RULES, QUANTITY, SITE, UNIT
        from vigichem.ledger.db import events, quantities, sources

        after = self._last_seq
        if upto <= after:
            return
        destination = (
            select(sources.c.seq.label("seq"), func.min(sources.c.id).label("destination"))
            .where(
                sources.c.seq > after,
                sources.c.seq <= upto,
                sources.c.kind == "destination",
                sources.c.type == "location",
            )
            .group_by(sources.c.seq)
            .subquery("destination")
        )
        columns = [quantities.c.epc_class, UNIT, events.c.hash_id, events.c.event_time, events.c.seq]
        common = [
            QUANTITY.is_not(None),
            events.c.error_declaration == false(),
            quantities.c.seq > after,
            quantities.c.seq <= upto,
        ]
        shipped = driver_rows(
            connection,
            select(destination.c.destination, *columns, quantities.c.ordinal, SITE, QUANTITY)
            .select_from(
                quantities.join(events, events.c.seq == quantities.c.seq).join(
                    destination, destination.c.seq == events.c.seq
                )
            )
            .where(CATEGORY_RULES["shipped"], *common),
        )
        self._add(shipped, receipts=False)
        received = driver_rows(
            connection,
            select(SITE, *columns, quantities.c.ordinal, QUANTITY)
            .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
            .where(CATEGORY_RULES["received"], *common),
        )
        self._add(received, receipts=True)
        self._last_seq = upto

    def _add(self, rows: Iterable[Any], *, receipts: bool) -> None:
        for row in rows:
            site, epc_class, unit, hash_id, event_time, seq, ordinal = row[:7]
            origin = None if receipts else row[7]
            item = _Row(stored_datetime(event_time), int(seq), int(ordinal), hash_id, float(row[-1]), origin)
            group = self._groups.setdefault((site, epc_class, unit), _Group())
            bisect.insort(group.receipts if receipts else group.shipments, item)
            group.dirty = True

    # ---- pairing one group ----------------------------------------------------------------------------
    def _pair(self, key: Group, group: _Group, as_of: dt.datetime) -> None:
        withdrawn = self._withdrawn
        shipments = [r for r in group.shipments if r.event_time <= as_of and r.hash_id not in withdrawn]
        receipts = [r for r in group.receipts if r.event_time <= as_of and r.hash_id not in withdrawn]
        later = [r.event_time for r in (*group.shipments, *group.receipts) if r.event_time > as_of]
        group.pending = min(later) if later else None
        group.dirty = False
        if not shipments or _summary(shipments) == _summary(receipts):
            group.pairs = []  # nothing shipped there, or reconciled as a whole
            return
        destination, epc_class, unit = key
        group.pairs = []
        for rank, shipment in enumerate(shipments):
            receipt = receipts[rank] if rank < len(receipts) else None
            group.pairs.append(
                (
                    (shipment.event_time, shipment.seq, shipment.ordinal),
                    {
                        "shipment_event": shipment.hash_id,
                        "shipped_at": shipment.event_time,
                        "origin": shipment.origin,
                        "destination": destination,
                        "epc_class": epc_class,
                        "unit": unit,
                        "shipped_quantity": shipment.quantity,
                        "receipt_event": receipt.hash_id if receipt else None,
                        "received_at": receipt.event_time if receipt else None,
                        "received_quantity": receipt.quantity if receipt else None,
                    },
                )
            )


def _summary(rows: list[_Row]) -> tuple[int, float]:
    return len(rows), round(math.fsum(r.quantity for r in rows), 6)
