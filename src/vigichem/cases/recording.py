"""Recording alerts into cases in one batch: duplicates skipped, alerts grouped by subject, evidence linked.

The batch is planned in memory against the open cases read once, then written with cached statements (one
``INSERT`` per new case for its id, ``executemany`` for alerts and evidence links, one ``UPDATE`` per grown
case) and one run of chained audit entries, all in the same serialised transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigichem.cases import store
from vigichem.cases import tables as t
from vigichem.cases.models import FINAL_STATUSES, REPORTING_DEADLINE, CaseStatus, RecordResult
from vigichem.errors import InvalidInput

if TYPE_CHECKING:
    from vigichem.detect.models import Alert

__all__ = ["SEVERITY_ORDER", "record_alerts", "utc"]

SEVERITY_ORDER = ("low", "medium", "high", "critical")
_CHUNK = 500  # below SQLite's and PostgreSQL's bound-parameter limits

SubjectKey = tuple[str, str, str]


def utc(moment: datetime | None = None) -> datetime:
    """``moment`` (default now) as naive UTC, as the case tables store it."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def check_alert(alert: Alert, index: int) -> None:
    """Refuse a malformed alert with a message naming it."""
    where = f"alert {index} ({getattr(alert, 'rule', '?')!r})"
    for name in ("rule", "typology", "subject_type", "subject_id", "jurisdiction", "explanation"):
        value = getattr(alert, name, None)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{where}: {name} must be a non-empty text")
    if str(alert.severity) not in SEVERITY_ORDER:
        raise InvalidInput(f"{where}: severity {alert.severity!r} is not one of {', '.join(SEVERITY_ORDER)}")
    if not alert.event_hash_ids:
        raise InvalidInput(f"{where}: an alert needs at least one evidence event hash ID")
    for name in ("first_event_time", "last_event_time", "detected_at"):
        if not isinstance(getattr(alert, name, None), datetime):
            raise InvalidInput(f"{where}: {name} must be a date-time")


@dataclass(slots=True)
class _OpenCase:
    id: int
    severity: str
    first_event_time: datetime
    last_event_time: datetime
    evidence: set[str] = field(default_factory=set)
    changed: bool = False


def _known_fingerprints(connection: Connection, fingerprints: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(fingerprints), _CHUNK):
        chunk = list(fingerprints[start : start + _CHUNK])
        column = t.case_alerts.c.fingerprint
        known.update(connection.scalars(select(column).where(column.in_(chunk))))
    return known


def _open_cases(connection: Connection) -> dict[SubjectKey, _OpenCase]:
    c = t.cases.c
    query = select(
        c.id, c.subject_type, c.subject_id, c.jurisdiction, c.severity, c.first_event_time, c.last_event_time
    ).where(c.status.not_in([str(status) for status in FINAL_STATUSES]))
    found: dict[SubjectKey, _OpenCase] = {}
    for row in connection.execute(query.order_by(c.id)):
        # Only one case per subject is ever open; setdefault keeps the oldest should data say otherwise.
        found.setdefault(
            (row.subject_type, row.subject_id, row.jurisdiction),
            _OpenCase(row.id, row.severity, row.first_event_time, row.last_event_time),
        )
    by_id = {case.id: case for case in found.values()}
    ids = list(by_id)
    for start in range(0, len(ids), _CHUNK):
        e = t.case_evidence.c
        rows = connection.execute(
            select(e.case_id, e.hash_id).where(e.case_id.in_(ids[start : start + _CHUNK]))
        )
        for case_id, hash_id in rows:
            by_id[case_id].evidence.add(hash_id)
    return found


def _alert_row(alert: Alert, case_id: int, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "case_id": case_id,
        "rule": alert.rule,
        "typology": alert.typology,
        "detail": alert.detail,
        "basis": alert.basis,
        "severity": str(alert.severity),
        "scope": str(alert.scope),
        "jurisdiction": alert.jurisdiction,
        "first_event_time": utc(alert.first_event_time),
        "last_event_time": utc(alert.last_event_time),
        "detected_at": utc(alert.detected_at),
        "recorded_at": now,
        "explanation": alert.explanation,
        "evidence_json": json.dumps(alert.evidence, sort_keys=True, default=str),
        "event_hash_ids_json": json.dumps(list(alert.event_hash_ids)),
    }


def _new_case(connection: Connection, alert: Alert) -> _OpenCase:
    detected = utc(alert.detected_at)
    first, last = utc(alert.first_event_time), utc(alert.last_event_time)
    values = {
        "subject_type": alert.subject_type,
        "subject_id": alert.subject_id,
        "jurisdiction": alert.jurisdiction,
        "status": str(CaseStatus.NEW),
        "resolution": None,
        "assignee": None,
        "severity": str(alert.severity),
        "opened_at": detected,
        "deadline": detected + REPORTING_DEADLINE,
        "first_event_time": first,
        "last_event_time": last,
    }
    case_id = connection.execute(insert(t.cases).returning(t.cases.c.id), values).scalar_one()
    return _OpenCase(int(case_id), str(alert.severity), first, last)


def _grow(case: _OpenCase, alert: Alert, audit: store.AuditWriter, now: datetime, actor: str) -> None:
    severity = str(alert.severity)
    if SEVERITY_ORDER.index(severity) > SEVERITY_ORDER.index(case.severity):
        audit.add(case.id, now, actor, "update", "severity", case.severity, severity)
        case.severity = severity
        case.changed = True
    if utc(alert.first_event_time) < case.first_event_time:
        case.first_event_time = utc(alert.first_event_time)
        case.changed = True
    if utc(alert.last_event_time) > case.last_event_time:
        case.last_event_time = utc(alert.last_event_time)
        case.changed = True


def record_alerts(engine: Engine, alerts: Iterable[Alert], *, actor: str = "detect") -> RecordResult:
    """Persist alerts, grouped into cases by subject, never duplicating one (its ``fingerprint``).

    An alert whose fingerprint is already stored (or earlier in the batch) is skipped. A new alert joins its
    subject's open case (same subject type, id and jurisdiction, not yet reported or closed) and links its
    evidence events there; otherwise it opens a new case whose 24-hour clock starts at the alert's detection
    time. Alerts are taken in detection order. All are checked before anything is written: one malformed
    alert rejects the whole batch, and nothing is stored.
    """
    batch = list(alerts)
    for index, alert in enumerate(batch):
        check_alert(alert, index)
    batch.sort(key=lambda item: (utc(item.detected_at), item.fingerprint))
    opened: list[int] = []
    updated: dict[int, None] = {}
    alert_rows: list[dict[str, Any]] = []
    evidence_rows: list[dict[str, Any]] = []
    duplicates = 0
    now = utc()
    with store.write_transaction(engine) as connection:
        known = _known_fingerprints(connection, [alert.fingerprint for alert in batch])
        open_cases = _open_cases(connection)
        audit = store.AuditWriter(connection)
        grown: dict[int, _OpenCase] = {}
        for alert in batch:
            if alert.fingerprint in known:
                duplicates += 1
                continue
            known.add(alert.fingerprint)
            key = (alert.subject_type, alert.subject_id, alert.jurisdiction)
            case = open_cases.get(key)
            if case is None:
                case = open_cases[key] = _new_case(connection, alert)
                opened.append(case.id)
                audit.add(case.id, now, actor, "open", "status", None, str(CaseStatus.NEW))
            else:
                _grow(case, alert, audit, now, actor)
                grown[case.id] = case
                if case.id not in opened:
                    updated[case.id] = None
            alert_rows.append(_alert_row(alert, case.id, now))
            audit.add(case.id, now, actor, "add_alert", "alert", None, alert.fingerprint)
            for hash_id in dict.fromkeys(alert.event_hash_ids):
                if hash_id not in case.evidence:
                    case.evidence.add(hash_id)
                    evidence_rows.append(
                        {"case_id": case.id, "hash_id": hash_id, "added_at": now, "source": alert.fingerprint}
                    )
                    audit.add(case.id, now, actor, "add_evidence", "evidence", None, hash_id)
        if alert_rows:
            connection.execute(insert(t.case_alerts), alert_rows)
        if evidence_rows:
            connection.execute(insert(t.case_evidence), evidence_rows)
        for case in grown.values():
            if case.changed:
                connection.execute(
                    update(t.cases)
                    .where(t.cases.c.id == case.id)
                    .values(
                        severity=case.severity,
                        first_event_time=case.first_event_time,
                        last_event_time=case.last_event_time,
                    )
                )
        audit.flush()
    return RecordResult(len(alert_rows), duplicates, tuple(opened), tuple(updated))
