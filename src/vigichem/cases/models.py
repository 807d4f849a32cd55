"""Typed records of cases: status and resolution, the workflow's legal moves, cases, audit entries.

The workflow (``docs/cases.md``)::

    new ──► triage ──► investigating ──► reported
     │        │             │
     └────────┴─────────────┴──► closed (false_positive | no_action)

``reported`` and ``closed`` are final. Every move, assignment, comment and evidence link is an entry of the
append-only audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "FINAL_STATUSES",
    "REPORTING_DEADLINE",
    "TRANSITIONS",
    "AuditEntry",
    "AuditReport",
    "Case",
    "CaseAlert",
    "CaseStatus",
    "RecordResult",
    "Resolution",
]

REPORTING_DEADLINE = timedelta(hours=24)
"""Regulation (EU) 2019/1148 Art. 9 with Annex I: suspicious transactions, significant disappearances and
thefts are reportable within 24 hours (the project's transcription of Annex I,
``shared/data/regulatory/regulatory_lists_transcribed.csv``; the detection rule pack's ``eu-art9-2`` basis).
The paragraph of Art. 9 was not checked against the Official Journal text (gap left visible in
``docs/cases.md``). The clock starts at the first alert's detection time."""


class CaseStatus(StrEnum):
    """Where a case stands in the workflow."""

    NEW = "new"
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    REPORTED = "reported"
    CLOSED = "closed"


class Resolution(StrEnum):
    """Why a case was closed without a report."""

    FALSE_POSITIVE = "false_positive"
    NO_ACTION = "no_action"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.TRIAGE, CaseStatus.CLOSED}),
    CaseStatus.TRIAGE: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CLOSED}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.REPORTED, CaseStatus.CLOSED}),
    CaseStatus.REPORTED: frozenset(),
    CaseStatus.CLOSED: frozenset(),
}
"""The legal moves from each status; anything else is refused with the moves that are allowed."""

FINAL_STATUSES = frozenset({CaseStatus.REPORTED, CaseStatus.CLOSED})


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What :func:`vigichem.cases.record_alerts` did: alerts new and already known, cases opened and grown."""

    new_alerts: int
    duplicate_alerts: int
    cases_opened: tuple[int, ...]
    cases_updated: tuple[int, ...]

    def __str__(self) -> str:
        return (
            f"{self.new_alerts} new alerts ({self.duplicate_alerts} already recorded), "
            f"{len(self.cases_opened)} cases opened, {len(self.cases_updated)} cases updated"
        )


@dataclass(frozen=True, slots=True)
class CaseAlert:
    """An alert as stored in a case (times naive UTC)."""

    fingerprint: str
    rule: str
    typology: str
    detail: str | None
    basis: str
    severity: str
    scope: str
    jurisdiction: str
    first_event_time: datetime
    last_event_time: datetime
    detected_at: datetime
    explanation: str
    evidence: dict[str, Any]
    event_hash_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "typology": self.typology,
            "detail": self.detail,
            "basis": self.basis,
            "severity": self.severity,
            "scope": self.scope,
            "jurisdiction": self.jurisdiction,
            "firstEventTime": _iso(self.first_event_time),
            "lastEventTime": _iso(self.last_event_time),
            "detectedAt": _iso(self.detected_at),
            "explanation": self.explanation,
            "evidence": self.evidence,
            "eventHashIds": list(self.event_hash_ids),
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action on a case: who, when, what, old and new value; chained by SHA-256."""

    id: int
    case_id: int
    at: datetime
    actor: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    prev_hash: str
    entry_hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "case": self.case_id,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "field": self.field,
            "old": self.old_value,
            "new": self.new_value,
            "hash": self.entry_hash,
        }


@dataclass(frozen=True, slots=True)
class Case:
    """A case: one subject's alerts, its workflow state, assignee, evidence and the 24-hour clock."""

    id: int
    subject_type: str
    subject_id: str
    jurisdiction: str
    status: CaseStatus
    resolution: Resolution | None
    assignee: str | None
    severity: str
    opened_at: datetime
    deadline: datetime
    first_event_time: datetime
    last_event_time: datetime
    reported_at: datetime | None
    closed_at: datetime | None
    typologies: tuple[str, ...] = ()
    alerts: tuple[CaseAlert, ...] = ()
    evidence: tuple[str, ...] = ()
    audit: tuple[AuditEntry, ...] = field(default=())

    def overdue(self, as_of: datetime) -> bool:
        """Whether the 24-hour reporting deadline passed at ``as_of`` (naive UTC) without a report or closure.

        A case reported after its deadline stays overdue: it was late.
        """
        if self.status is CaseStatus.REPORTED:
            return self.reported_at is not None and self.reported_at > self.deadline
        if self.status is CaseStatus.CLOSED:
            return False
        return as_of > self.deadline

    @property
    def comments(self) -> tuple[AuditEntry, ...]:
        """The comments (audit entries of action ``comment``), oldest first."""
        return tuple(entry for entry in self.audit if entry.action == "comment")

    def to_dict(self, as_of: datetime) -> dict[str, Any]:
        """JSON form, with the overdue flag computed at ``as_of``."""
        return {
            "id": self.id,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "jurisdiction": self.jurisdiction,
            "status": str(self.status),
            "resolution": None if self.resolution is None else str(self.resolution),
            "assignee": self.assignee,
            "severity": self.severity,
            "typologies": list(self.typologies),
            "openedAt": _iso(self.opened_at),
            "deadline": _iso(self.deadline),
            "overdue": self.overdue(as_of),
            "firstEventTime": _iso(self.first_event_time),
            "lastEventTime": _iso(self.last_event_time),
            "reportedAt": _iso(self.reported_at),
            "closedAt": _iso(self.closed_at),
            "alerts": [alert.to_dict() for alert in self.alerts],
            "evidence": list(self.evidence),
            "comments": [
                {"at": _iso(entry.at), "author": entry.actor, "text": entry.new_value}
                for entry in self.comments
            ],
            "audit": [entry.to_dict() for entry in self.audit],
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Result of checking the audit trail's hash chain: ``ok`` or the first broken entry."""

    entries: int
    ok: bool
    broken_at: int | None = None
    reason: str | None = None
