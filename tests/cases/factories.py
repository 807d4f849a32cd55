"""Invented alerts for the case tests (invented test data: rules, subjects and hash IDs are made up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigichem.detect.models import Alert, Scope, Severity

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fake_hash(index: int) -> str:
    """An invented Event Hash ID (the right shape, not the hash of a real event)."""
    return f"ni:///sha-256;{index:064x}?ver=CBV2.0"


def alert(
    *,
    subject: str = "pty-invented-0001",
    subject_type: str = "party",
    rule: str = "split_purchase",
    typology: str = "split_purchase",
    hashes: tuple[int, ...] = (1, 2),
    detected: datetime = T0,
    severity: Severity = Severity.HIGH,
    detail: str | None = None,
    jurisdiction: str = "EU",
) -> Alert:
    """An invented alert on ``subject`` whose evidence is the invented events ``hashes``."""
    return Alert(
        rule=rule,
        typology=typology,
        detail=detail,
        basis="Regulation (EU) 2019/1148 Art. 9 (invented test alert)",
        severity=severity,
        scope=Scope.OPERATOR,
        subject_type=subject_type,
        subject_id=subject,
        jurisdiction=jurisdiction,
        event_hash_ids=tuple(fake_hash(index) for index in hashes),
        first_event_time=detected - timedelta(days=2),
        last_event_time=detected - timedelta(hours=1),
        detected_at=detected,
        explanation=f"{len(hashes)} purchases of 10 kg each, together above the 12 kg limit (invented)",
        evidence={"total_kg": 10.0 * len(hashes), "limit_kg": 12.0},
    )
