"""Case operations: record alerts into cases, move cases through the workflow, assign, comment, verify.

Every operation runs in one serialised write transaction (:func:`vigichem.cases.store.write_transaction`) and
writes its audit entries in that same transaction: an action and its audit entry commit together or not
at all. Times are naive UTC; ``at`` parameters let tests fix the clock (nothing ever sleeps).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, insert, select

from vigichem.cases import store
from vigichem.cases import tables as t
from vigichem.cases.models import (
    REPORTING_DEADLINE,
    TRANSITIONS,
    AuditEntry,
    AuditReport,
    Case,
    CaseStatus,
    RecordResult,
    Resolution,
)
from vigichem.errors import InvalidInput

if TYPE_CHECKING:
    from vigichem.detect.models import Alert

__all__ = [
    "assign",
    "audit_trail",
    "close",
    "comment",
    "get_case",
    "investigate",
    "list_cases",
    "mark_reported",
    "record_alerts",
    "transition",
    "triage",
    "utc",
    "verify_audit",
]

SEVERITY_ORDER = ("low", "medium", "high", "critical")
MAX_TEXT = 10_000


def utc(moment: datetime | None = None) -> datetime:
    """``moment`` (default now) as naive UTC, microsecond precision, as the case tables store it."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _text(value: str | None, what: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty text")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters long, above the limit of {limit}")
    return value.strip()


def _check_alert(alert: Alert, index: int) -> None:
    where = f"alert {index} ({alert.rule!r})"
    for name in ("rule", "typology", "subject_type", "subject_id", "jurisdiction", "explanation"):
        value = getattr(alert, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{where}: {name} must be a non-empty text")
    if str(alert.severity) not in SEVERITY_ORDER:
        raise InvalidInput(f"{where}: severity {alert.severity!r} is not one of {', '.join(SEVERITY_ORDER)}")
    if not alert.event_hash_ids:
        raise InvalidInput(f"{where}: an alert needs at least one evidence event hash ID")
    for name in ("first_event_time", "last_event_time", "detected_at"):
        if not isinstance(getattr(alert, name), datetime):
            raise InvalidInput(f"{where}: {name} must be a date-time")


def record_alerts(engine: Engine, alerts: Iterable[Alert], *, actor: str = "detect") -> RecordResult:
    """Persist alerts, grouped into cases by subject, never duplicating one (its ``fingerprint``).

    An alert whose fingerprint is already stored is skipped. A new alert joins its subject's open case
    (same subject type, id and jurisdiction, not yet reported or closed) and adds its evidence events there;
    otherwise it opens a new case whose 24-hour clock starts at the alert's detection time. All alerts are
    checked before anything is written: one malformed alert rejects the whole batch.
    """
    batch = list(alerts)
    for index, alert in enumerate(batch):
        _check_alert(alert, index)
    opened: list[int] = []
    updated: list[int] = []
    new = duplicates = 0
    with store.write_transaction(engine) as connection:
        known = set(connection.scalars(select(t.case_alerts.c.fingerprint)))
        for alert in sorted(batch, key=lambda item: (utc(item.detected_at), item.fingerprint)):
            fingerprint = alert.fingerprint
            if fingerprint in known:
                duplicates += 1
                continue
            known.add(fingerprint)
            new += 1
            case_id = store.open_case_for(
                connection, alert.subject_type, alert.subject_id, alert.jurisdiction
            )
            if case_id is None:
                case_id = _open_case(connection, alert, actor)
                opened.append(case_id)
            else:
                _grow_case(connection, case_id, alert, actor)
                if case_id not in opened and case_id not in updated:
                    updated.append(case_id)
            _store_alert(connection, case_id, alert, actor)
    return RecordResult(new, duplicates, tuple(opened), tuple(updated))


def _open_case(connection: Connection, alert: Alert, actor: str) -> int:
    detected = utc(alert.detected_at)
    case_id = connection.execute(
        insert(t.cases).returning(t.cases.c.id),
        {
            "subject_type": alert.subject_type,
            "subject_id": alert.subject_id,
            "jurisdiction": alert.jurisdiction,
            "status": str(CaseStatus.NEW),
            "resolution": None,
            "assignee": None,
            "severity": str(alert.severity),
            "opened_at": detected,
            "deadline": detected + REPORTING_DEADLINE,
            "first_event_time": utc(alert.first_event_time),
            "last_event_time": utc(alert.last_event_time),
        },
    ).scalar_one()
    store.append_audit(connection, case_id, utc(), actor, "open", "status", None, str(CaseStatus.NEW))
    return int(case_id)


def _grow_case(connection: Connection, case_id: int, alert: Alert, actor: str) -> None:
    case = store.load_case(connection, case_id, full=False)
    changes: dict[str, object] = {}
    severity = str(alert.severity)
    if SEVERITY_ORDER.index(severity) > SEVERITY_ORDER.index(case.severity):
        changes["severity"] = severity
        store.append_audit(connection, case_id, utc(), actor, "update", "severity", case.severity, severity)
    if utc(alert.first_event_time) < case.first_event_time:
        changes["first_event_time"] = utc(alert.first_event_time)
    if utc(alert.last_event_time) > case.last_event_time:
        changes["last_event_time"] = utc(alert.last_event_time)
    if changes:
        store.set_case(connection, case_id, **changes)


def _store_alert(connection: Connection, case_id: int, alert: Alert, actor: str) -> None:
    now = utc()
    connection.execute(
        insert(t.case_alerts).values(
            fingerprint=alert.fingerprint,
            case_id=case_id,
            rule=alert.rule,
            typology=alert.typology,
            detail=alert.detail,
            basis=alert.basis,
            severity=str(alert.severity),
            scope=str(alert.scope),
            jurisdiction=alert.jurisdiction,
            first_event_time=utc(alert.first_event_time),
            last_event_time=utc(alert.last_event_time),
            detected_at=utc(alert.detected_at),
            recorded_at=now,
            explanation=alert.explanation,
            evidence_json=json.dumps(alert.evidence, sort_keys=True, default=str),
            event_hash_ids_json=json.dumps(list(alert.event_hash_ids)),
        )
    )
    store.append_audit(connection, case_id, now, actor, "add_alert", "alert", None, alert.fingerprint)
    linked = set(
        connection.scalars(select(t.case_evidence.c.hash_id).where(t.case_evidence.c.case_id == case_id))
    )
    for hash_id in dict.fromkeys(alert.event_hash_ids):
        if hash_id in linked:
            continue
        connection.execute(
            insert(t.case_evidence).values(
                case_id=case_id, hash_id=hash_id, added_at=now, source=f"alert {alert.fingerprint}"
            )
        )
        store.append_audit(connection, case_id, now, actor, "add_evidence", "evidence", None, hash_id)


def get_case(engine: Engine, case_id: int) -> Case:
    """One case with its alerts, evidence links and audit trail (:class:`NotFound` when absent)."""
    with engine.connect() as connection:
        return store.load_case(connection, case_id)


def list_cases(
    engine: Engine,
    *,
    statuses: Sequence[CaseStatus | str] = (),
    assignee: str | None = None,
    subject_id: str | None = None,
    overdue_at: datetime | None = None,
) -> list[Case]:
    """Cases matching the filters, oldest first; with ``overdue_at``, only those overdue at that moment."""
    try:
        wanted = [CaseStatus(status) for status in statuses]
    except ValueError as exc:
        raise InvalidInput(f"{exc}; statuses are {', '.join(CaseStatus)}") from None
    with engine.connect() as connection:
        found = store.select_cases(connection, statuses=wanted, assignee=assignee, subject_id=subject_id)
    if overdue_at is not None:
        moment = utc(overdue_at)
        found = [case for case in found if case.overdue(moment)]
    return found


def assign(engine: Engine, case_id: int, assignee: str, *, actor: str, at: datetime | None = None) -> Case:
    """Give a case to ``assignee`` (audited with the previous assignee)."""
    assignee = _text(assignee, "the assignee")
    actor = _text(actor, "the actor")
    with store.write_transaction(engine) as connection:
        case = store.load_case(connection, case_id, full=False)
        if case.assignee != assignee:
            store.set_case(connection, case_id, assignee=assignee)
            store.append_audit(
                connection, case_id, utc(at), actor, "assign", "assignee", case.assignee, assignee
            )
    return get_case(engine, case_id)


def comment(engine: Engine, case_id: int, text: str, *, actor: str, at: datetime | None = None) -> Case:
    """Add a comment to a case (comments are audit entries, so they can never be edited or removed)."""
    body = _text(text, "a comment", limit=MAX_TEXT)
    actor = _text(actor, "the actor")
    with store.write_transaction(engine) as connection:
        store.load_case(connection, case_id, full=False)
        store.append_audit(connection, case_id, utc(at), actor, "comment", "comment", None, body)
    return get_case(engine, case_id)


def transition(
    engine: Engine,
    case_id: int,
    to: CaseStatus | str,
    *,
    actor: str,
    resolution: Resolution | str | None = None,
    at: datetime | None = None,
) -> Case:
    """Move a case to status ``to``; an illegal move is refused with the moves allowed from where it is.

    Closing needs a ``resolution`` (``false_positive`` or ``no_action``); no other move takes one.
    """
    actor = _text(actor, "the actor")
    try:
        target = CaseStatus(to)
    except ValueError:
        raise InvalidInput(f"{to!r} is not a case status; statuses are {', '.join(CaseStatus)}") from None
    closing_as: Resolution | None = None
    if target is CaseStatus.CLOSED:
        if resolution is None:
            raise InvalidInput("closing a case needs a resolution: false_positive or no_action")
        try:
            closing_as = Resolution(resolution)
        except ValueError:
            raise InvalidInput(
                f"{resolution!r} is not a resolution; resolutions are {', '.join(Resolution)}"
            ) from None
    elif resolution is not None:
        raise InvalidInput(f"a resolution is only given when closing a case, not when moving it to {target}")
    moment = utc(at)
    with store.write_transaction(engine) as connection:
        case = store.load_case(connection, case_id, full=False)
        allowed = TRANSITIONS[case.status]
        if target not in allowed:
            moves = ", ".join(sorted(allowed)) if allowed else f"none: {case.status} is final"
            raise InvalidInput(
                f"case {case_id} cannot move from {case.status} to {target} (allowed: {moves})",
                details={"case": case_id, "from": str(case.status), "to": str(target)},
            )
        changes: dict[str, object] = {"status": str(target)}
        if target is CaseStatus.REPORTED:
            changes["reported_at"] = moment
        if closing_as is not None:
            changes["resolution"] = str(closing_as)
            changes["closed_at"] = moment
        store.set_case(connection, case_id, **changes)
        store.append_audit(connection, case_id, moment, actor, "transition", "status", case.status, target)
        if closing_as is not None:
            store.append_audit(connection, case_id, moment, actor, "resolve", "resolution", None, closing_as)
    return get_case(engine, case_id)


def triage(engine: Engine, case_id: int, *, actor: str, at: datetime | None = None) -> Case:
    """new → triage."""
    return transition(engine, case_id, CaseStatus.TRIAGE, actor=actor, at=at)


def investigate(engine: Engine, case_id: int, *, actor: str, at: datetime | None = None) -> Case:
    """triage → investigating."""
    return transition(engine, case_id, CaseStatus.INVESTIGATING, actor=actor, at=at)


def mark_reported(engine: Engine, case_id: int, *, actor: str, at: datetime | None = None) -> Case:
    """investigating → reported (the STR was filed)."""
    return transition(engine, case_id, CaseStatus.REPORTED, actor=actor, at=at)


def close(
    engine: Engine, case_id: int, resolution: Resolution | str, *, actor: str, at: datetime | None = None
) -> Case:
    """Close a case as ``false_positive`` or ``no_action``."""
    return transition(engine, case_id, CaseStatus.CLOSED, actor=actor, resolution=resolution, at=at)


def audit_trail(engine: Engine, case_id: int | None = None) -> list[AuditEntry]:
    """The audit trail, oldest first (every case, or one)."""
    with engine.connect() as connection:
        return store.audit_entries(connection, case_id)


def verify_audit(engine: Engine) -> AuditReport:
    """Recompute the audit trail's hash chain: detects entries forged, altered or removed by raw SQL."""
    with engine.connect() as connection:
        return store.check_chain(connection)
