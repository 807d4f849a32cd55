"""SQLAlchemy Core tables of alerts, cases and the audit trail (created by migration ``0003``).

The tables join the ledger's metadata (and its naming convention) so that a migrated database and the
metadata compare equal; importing this module registers them. Timestamps are naive UTC, as in the ledger.

``case_audit`` is append-only: the migration installs triggers that refuse ``UPDATE`` and ``DELETE`` on both
SQLite and PostgreSQL, and every entry carries a SHA-256 chained over the previous one, so that an entry
forged or altered behind the triggers' back is detected by :func:`vigichem.cases.verify_audit`.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from vigichem.ledger.db import metadata

__all__ = ["audit", "case_alerts", "case_evidence", "cases"]

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolution", String(16), nullable=True),
    Column("assignee", Text, nullable=True),
    Column("severity", String(8), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("deadline", DateTime, nullable=False),
    Column("first_event_time", DateTime, nullable=False),
    Column("last_event_time", DateTime, nullable=False),
    Column("reported_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Index("ix_cases_subject_id", "subject_id"),
    Index("ix_cases_status", "status"),
)

case_alerts = Table(
    "case_alerts",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("typology", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("basis", Text, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("first_event_time", DateTime, nullable=False),
    Column("last_event_time", DateTime, nullable=False),
    Column("detected_at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("event_hash_ids_json", Text, nullable=False),
    Index("ix_case_alerts_case_id", "case_id"),
)

case_evidence = Table(
    "case_evidence",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("hash_id", String(200), primary_key=True),
    Column("added_at", DateTime, nullable=False),
    Column("source", Text, nullable=False),
)

audit = Table(
    "case_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(24), nullable=False),
    Column("field", String(24), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("ix_case_audit_case_id", "case_id"),
)
