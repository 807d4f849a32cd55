"""Persistence of cases: serialised write transactions, rows to records, the hash-chained audit trail.

Writers go through :func:`write_transaction`: on SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the
database write lock), on PostgreSQL it takes a transaction-level advisory lock. Two writers therefore never
read the same audit-chain head or both open a case for one subject.

Each audit entry's ``entry_hash`` is SHA-256 over the previous entry's hash and the entry's own fields, so
the trail is one chain from :data:`GENESIS`: the database triggers refuse ``UPDATE``/``DELETE``, and the chain
shows any row that was forged, altered or removed behind their back (:func:`check_chain`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, func, insert, select, text, update

from vigichem.cases import tables as t
from vigichem.cases.models import (
    AuditEntry,
    AuditReport,
    Case,
    CaseAlert,
    CaseStatus,
    Resolution,
)
from vigichem.errors import NotFound
from vigichem.ledger.db import WRITE_LOCK, is_postgresql

__all__ = [
    "GENESIS",
    "AuditWriter",
    "append_audit",
    "case_conditions",
    "check_chain",
    "count_cases",
    "entry_hash",
    "load_case",
    "select_alerts",
    "select_cases",
    "set_case",
    "write_transaction",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first audit entry."""

_ADVISORY_LOCK_KEY = 0x5649_4743_4153  # "VIGCAS": one lock for every case writer on PostgreSQL
_NULL = "\x00"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the case writers' lock until commit."""
    with engine.connect().execution_options(**WRITE_LOCK) as connection, connection.begin():
        if is_postgresql(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        yield connection


def entry_hash(
    prev_hash: str,
    case_id: int,
    at: datetime,
    actor: str,
    action: str,
    field: str | None,
    old_value: str | None,
    new_value: str | None,
) -> str:
    """The SHA-256 (hex) that chains one audit entry to the previous one."""
    parts = [prev_hash, str(case_id), at.isoformat(), actor, action]
    parts += [_NULL if value is None else value for value in (field, old_value, new_value)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class AuditWriter:
    """Buffers audit entries of one write transaction and inserts them, chained, in one batch.

    The chain head is read once: inside :func:`write_transaction` no other writer can append meanwhile.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        head = connection.execute(
            select(t.audit.c.entry_hash).order_by(t.audit.c.id.desc()).limit(1)
        ).scalar()
        self._prev: str = head or GENESIS
        self._rows: list[dict[str, Any]] = []

    def add(
        self,
        case_id: int,
        at: datetime,
        actor: str,
        action: str,
        field: str | None = None,
        old_value: str | None = None,
        new_value: str | None = None,
    ) -> None:
        """Queue one entry (hashed now, in order)."""
        digest = entry_hash(self._prev, case_id, at, actor, action, field, old_value, new_value)
        self._rows.append(
            {
                "case_id": case_id,
                "at": at,
                "actor": actor,
                "action": action,
                "field": field,
                "old_value": old_value,
                "new_value": new_value,
                "prev_hash": self._prev,
                "entry_hash": digest,
            }
        )
        self._prev = digest

    def flush(self) -> None:
        """Insert the queued entries (ids follow the queue order)."""
        if self._rows:
            # A multi-row insert numbers its rows in order (SQLite executes them one by one; PostgreSQL's
            # multi-VALUES insert draws the serial row by row), so ids follow the chain; verify_audit checks.
            self.connection.execute(insert(t.audit), self._rows)
            self._rows.clear()


def append_audit(
    connection: Connection,
    case_id: int,
    at: datetime,
    actor: str,
    action: str,
    field: str | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
) -> None:
    """Append one entry to the audit trail (call inside :func:`write_transaction`)."""
    writer = AuditWriter(connection)
    writer.add(case_id, at, actor, action, field, old_value, new_value)
    writer.flush()


def _audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(**dict(row._mapping))


def audit_entries(connection: Connection, case_id: int | None = None) -> list[AuditEntry]:
    """Audit entries in order (all, or one case's)."""
    query = select(t.audit).order_by(t.audit.c.id)
    if case_id is not None:
        query = query.where(t.audit.c.case_id == case_id)
    return [_audit_entry(row) for row in connection.execute(query)]


def check_chain(connection: Connection) -> AuditReport:
    """Recompute the whole chain; report the first entry whose links or hash do not hold."""
    prev = GENESIS
    count = 0
    for entry in audit_entries(connection):
        count += 1
        if entry.prev_hash != prev:
            return AuditReport(
                count, False, entry.id, "its previous-hash link does not match the entry before"
            )
        expected = entry_hash(
            prev,
            entry.case_id,
            entry.at,
            entry.actor,
            entry.action,
            entry.field,
            entry.old_value,
            entry.new_value,
        )
        if entry.entry_hash != expected:
            return AuditReport(count, False, entry.id, "its content does not match its hash")
        prev = entry.entry_hash
    return AuditReport(count, True)


def _alert(row: Row[Any] | dict[str, Any]) -> CaseAlert:
    values = dict(row) if isinstance(row, dict) else dict(row._mapping)
    values.pop("case_id")
    values.pop("recorded_at")
    values["evidence"] = json.loads(values.pop("evidence_json"))
    values["event_hash_ids"] = tuple(json.loads(values.pop("event_hash_ids_json")))
    return CaseAlert(**values)


def _case(row: Row[Any] | dict[str, Any], **extra: Any) -> Case:
    values = dict(row) if isinstance(row, dict) else dict(row._mapping)
    values["status"] = CaseStatus(values["status"])
    values["resolution"] = None if values["resolution"] is None else Resolution(values["resolution"])
    return Case(**values, **extra)


def load_case(connection: Connection, case_id: int, *, full: bool = True) -> Case:
    """One case with its alerts, evidence and audit trail; :class:`NotFound` when there is none."""
    row = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id}", details={"case": case_id})
    alerts = tuple(
        _alert(alert)
        for alert in connection.execute(
            select(t.case_alerts)
            .where(t.case_alerts.c.case_id == case_id)
            .order_by(t.case_alerts.c.detected_at, t.case_alerts.c.fingerprint)
        )
    )
    typologies = tuple(sorted({alert.typology for alert in alerts}))
    if not full:
        return _case(row, typologies=typologies)
    evidence = tuple(
        connection.scalars(
            select(t.case_evidence.c.hash_id)
            .where(t.case_evidence.c.case_id == case_id)
            .order_by(t.case_evidence.c.added_at, t.case_evidence.c.hash_id)
        )
    )
    return _case(
        row,
        typologies=typologies,
        alerts=alerts,
        evidence=evidence,
        audit=tuple(audit_entries(connection, case_id)),
    )


def case_conditions(
    *,
    statuses: Sequence[CaseStatus] = (),
    assignee: str | None = None,
    subject_id: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[ColumnElement[bool]]:
    """SQL conditions on ``cases`` for the usual filters (``where``: an extra one, e.g. a tenancy rule)."""
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(t.cases.c.status.in_([str(status) for status in statuses]))
    if assignee is not None:
        conditions.append(t.cases.c.assignee == assignee)
    if subject_id is not None:
        conditions.append(t.cases.c.subject_id == subject_id)
    if where is not None:
        conditions.append(where)
    return conditions


def select_cases(
    connection: Connection,
    conditions: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Case]:
    """Cases (without alerts, evidence or audit) meeting ``conditions``, oldest first."""
    query = select(t.cases).where(*conditions).order_by(t.cases.c.id).offset(offset).limit(limit)
    rows = list(connection.execute(query))
    typologies: dict[int, set[str]] = {}
    wanted = [row.id for row in rows]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        pairs = select(t.case_alerts.c.case_id, t.case_alerts.c.typology).where(
            t.case_alerts.c.case_id.in_(chunk)
        )
        for case_id, typology in connection.execute(pairs):
            typologies.setdefault(case_id, set()).add(typology)
    return [_case(row, typologies=tuple(sorted(typologies.get(row.id, ())))) for row in rows]


def count_cases(connection: Connection, conditions: Sequence[ColumnElement[bool]] = ()) -> int:
    """How many cases meet ``conditions``."""
    return int(connection.scalar(select(func.count()).select_from(t.cases).where(*conditions)) or 0)


def select_alerts(
    connection: Connection,
    conditions: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[tuple[Case, CaseAlert]], int]:
    """Alerts with their case (``conditions`` on ``case_alerts`` and ``cases``), newest detection first.

    Returns one page and the total count.
    """
    joined = t.case_alerts.join(t.cases, t.cases.c.id == t.case_alerts.c.case_id)
    total = int(connection.scalar(select(func.count()).select_from(joined).where(*conditions)) or 0)
    alert_columns = [column.label(f"a_{column.name}") for column in t.case_alerts.c]
    query = (
        select(t.cases, *alert_columns)
        .select_from(joined)
        .where(*conditions)
        .order_by(t.case_alerts.c.detected_at.desc(), t.case_alerts.c.fingerprint)
        .offset(offset)
        .limit(limit)
    )
    found: list[tuple[Case, CaseAlert]] = []
    for row in connection.execute(query):
        mapping = row._mapping
        case_values = {column.name: mapping[column.name] for column in t.cases.c}
        alert_values = {column.name: mapping[f"a_{column.name}"] for column in t.case_alerts.c}
        found.append((_case(case_values), _alert(alert_values)))
    return found, total


def set_case(connection: Connection, case_id: int, **values: Any) -> None:
    """Update columns of one case (the caller writes the matching audit entries)."""
    connection.execute(update(t.cases).where(t.cases.c.id == case_id).values(**values))
