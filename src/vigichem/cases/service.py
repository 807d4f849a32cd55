"""Case operations: record alerts into cases, move cases through the workflow, assign, comment, verify.

Every operation runs in one serialised write transaction (:func:`vigichem.cases.store.write_transaction`) and
writes its audit entries in that same transaction: an action and its audit entry commit together or not
at all. Times are naive UTC; ``at`` parameters let tests fix the clock (nothing ever sleeps).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, insert, select

from vigichem.cases import store
from vigichem.cases import tables as t
from vigichem.cases.models import (
    TRANSITIONS,
    AuditEntry,
    AuditReport,
    Case,
    CaseAlert,
    CaseStatus,
    Resolution,
)
from vigichem.cases.recording import SEVERITY_ORDER, record_alerts, utc
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.db import events

__all__ = [
    "assign",
    "audit_trail",
    "close",
    "comment",
    "count_cases",
    "get_case",
    "investigate",
    "link_evidence",
    "list_alerts",
    "list_cases",
    "mark_reported",
    "record_alerts",
    "transition",
    "triage",
    "utc",
    "verify_audit",
]

MAX_TEXT = 10_000


def _text(value: str | None, what: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty text")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters long, above the limit of {limit}")
    return value.strip()


def get_case(engine: Engine, case_id: int) -> Case:
    """One case with its alerts, evidence links and audit trail (:class:`NotFound` when absent)."""
    with engine.connect() as connection:
        return store.load_case(connection, case_id)


def _statuses(statuses: Sequence[CaseStatus | str]) -> list[CaseStatus]:
    try:
        return [CaseStatus(status) for status in statuses]
    except ValueError as exc:
        raise InvalidInput(f"{exc}; statuses are {', '.join(CaseStatus)}") from None


def list_cases(
    engine: Engine,
    *,
    statuses: Sequence[CaseStatus | str] = (),
    assignee: str | None = None,
    subject_id: str | None = None,
    overdue_at: datetime | None = None,
    where: ColumnElement[bool] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Case]:
    """Cases matching the filters, oldest first; with ``overdue_at``, only those overdue at that moment.

    ``where`` is an extra SQL condition on the ``cases`` table (the API passes the caller's tenancy rule);
    ``limit`` and ``offset`` page the result (applied before ``overdue_at``).
    """
    conditions = store.case_conditions(
        statuses=_statuses(statuses), assignee=assignee, subject_id=subject_id, where=where
    )
    with engine.connect() as connection:
        found = store.select_cases(connection, conditions, limit=limit, offset=offset)
    if overdue_at is not None:
        moment = utc(overdue_at)
        found = [case for case in found if case.overdue(moment)]
    return found


def count_cases(
    engine: Engine,
    *,
    statuses: Sequence[CaseStatus | str] = (),
    assignee: str | None = None,
    subject_id: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> int:
    """How many cases :func:`list_cases` would list with the same filters (without ``overdue_at``)."""
    conditions = store.case_conditions(
        statuses=_statuses(statuses), assignee=assignee, subject_id=subject_id, where=where
    )
    with engine.connect() as connection:
        return store.count_cases(connection, conditions)


def list_alerts(
    engine: Engine,
    *,
    where: ColumnElement[bool] | None = None,
    severities: Sequence[str] = (),
    typology: str | None = None,
    rule: str | None = None,
    statuses: Sequence[CaseStatus | str] = (),
    assignee: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[tuple[Case, CaseAlert]], int]:
    """The alert queue: alerts with their case, newest detection first, one page and the total count.

    ``where`` is an extra SQL condition on ``cases`` (or ``case_alerts``), e.g. the caller's tenancy rule;
    ``statuses`` and ``assignee`` filter on the alert's case.
    """
    unknown = [severity for severity in severities if severity not in SEVERITY_ORDER]
    if unknown:
        raise InvalidInput(f"severity {unknown[0]!r} is not one of {', '.join(SEVERITY_ORDER)}")
    conditions = store.case_conditions(statuses=_statuses(statuses), assignee=assignee, where=where)
    alerts = t.case_alerts.c
    if severities:
        conditions.append(alerts.severity.in_(list(severities)))
    if typology is not None:
        conditions.append(alerts.typology == typology)
    if rule is not None:
        conditions.append(alerts.rule == rule)
    with engine.connect() as connection:
        return store.select_alerts(connection, conditions, limit=limit, offset=offset)


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


def link_evidence(
    engine: Engine, case_id: int, hash_ids: Sequence[str], *, actor: str, at: datetime | None = None
) -> Case:
    """Link ledger events (Event Hash IDs) to a case as evidence; each must be in this node's ledger.

    Events already linked are left as they are; an unknown hash ID rejects the whole call (nothing linked).
    """
    actor = _text(actor, "the actor")
    wanted = list(dict.fromkeys(_text(hash_id, "an event hash ID") for hash_id in hash_ids))
    if not wanted:
        raise InvalidInput("give at least one event hash ID to link")
    moment = utc(at)
    with store.write_transaction(engine) as connection:
        store.load_case(connection, case_id, full=False)
        stored = set(connection.scalars(select(events.c.hash_id).where(events.c.hash_id.in_(wanted))))
        missing = [hash_id for hash_id in wanted if hash_id not in stored]
        if missing:
            raise NotFound(
                f"not in this ledger: {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""),
                details={"missing": missing},
            )
        linked = set(
            connection.scalars(select(t.case_evidence.c.hash_id).where(t.case_evidence.c.case_id == case_id))
        )
        audit = store.AuditWriter(connection)
        for hash_id in wanted:
            if hash_id in linked:
                continue
            connection.execute(
                insert(t.case_evidence),
                {"case_id": case_id, "hash_id": hash_id, "added_at": moment, "source": f"linked by {actor}"},
            )
            audit.add(case_id, moment, actor, "add_evidence", "evidence", None, hash_id)
        audit.flush()
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
        audit = store.AuditWriter(connection)
        audit.add(case_id, moment, actor, "transition", "status", case.status, target)
        if closing_as is not None:
            audit.add(case_id, moment, actor, "resolve", "resolution", None, closing_as)
        audit.flush()
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
