"""Typed records of detection: alerts (the shared contract with ``vigichem.cases``) and their enums.

An :class:`Alert` is what a rule's finding becomes once it is attached to a subject, a jurisdiction and
the time it was detected. Its :attr:`Alert.fingerprint` is the de-duplication key: the same rule firing on
the same subject with the same evidence events is the same alert, however many times detection re-runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Alert", "Scope", "Severity", "SubjectType"]


class Severity(StrEnum):
    """How urgently an alert should be looked at (ordered from least to most urgent)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical, so severities can be compared."""
        return list(Severity).index(self)


class Scope(StrEnum):
    """Who can see the pattern: one operator (a seller, a site) or the national authority (all operators)."""

    OPERATOR = "operator"
    AUTHORITY = "authority"


class SubjectType(StrEnum):
    """What an alert is about: the cases engineer groups alerts by (subject_type, subject_id)."""

    PARTY = "party"
    SITE = "site"
    SHIPMENT = "shipment"
    ADDRESS = "address"
    PRODUCT = "product"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Alert:
    """One detected suspicious pattern, with the evidence that fired it and the basis that makes it so.

    ``event_hash_ids`` are CBV 2.0 Event Hash IDs of the ledger events that are the evidence; ``evidence``
    holds the figures (quantities, limits, counts) that the ``explanation`` sentence quotes.
    """

    rule: str
    typology: str
    detail: str | None
    basis: str
    severity: Severity
    scope: Scope
    subject_type: str
    subject_id: str
    jurisdiction: str
    event_hash_ids: tuple[str, ...]
    first_event_time: datetime
    last_event_time: datetime
    detected_at: datetime
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of rule, subject and the sorted evidence hash IDs: the de-duplication key."""
        parts = [self.rule, self.subject_type, self.subject_id, *sorted(set(self.event_hash_ids))]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (times in ISO 8601 UTC), as the CLI's ``--json`` and the API return it."""
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "typology": self.typology,
            "detail": self.detail,
            "basis": self.basis,
            "severity": str(self.severity),
            "scope": str(self.scope),
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "jurisdiction": self.jurisdiction,
            "eventHashIds": list(self.event_hash_ids),
            "firstEventTime": _iso(self.first_event_time),
            "lastEventTime": _iso(self.last_event_time),
            "detectedAt": _iso(self.detected_at),
            "explanation": self.explanation,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Rebuild an alert from :meth:`to_dict`'s output (the fingerprint is recomputed, not trusted)."""
        subject = data["subject"]
        return cls(
            rule=str(data["rule"]),
            typology=str(data["typology"]),
            detail=data.get("detail"),
            basis=str(data["basis"]),
            severity=Severity(data["severity"]),
            scope=Scope(data["scope"]),
            subject_type=str(subject["type"]),
            subject_id=str(subject["id"]),
            jurisdiction=str(data["jurisdiction"]),
            event_hash_ids=tuple(str(h) for h in data["eventHashIds"]),
            first_event_time=datetime.fromisoformat(str(data["firstEventTime"])),
            last_event_time=datetime.fromisoformat(str(data["lastEventTime"])),
            detected_at=datetime.fromisoformat(str(data["detectedAt"])),
            explanation=str(data["explanation"]),
            evidence=dict(data.get("evidence") or {}),
        )
