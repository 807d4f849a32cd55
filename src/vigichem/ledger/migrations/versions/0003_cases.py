"""Alerts, cases, evidence links and the append-only audit trail (vigichem.cases).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The tables are written out (as in 0001 and 0002) so that this revision keeps creating what it created on the
day it was written. ``case_audit`` gets triggers that refuse ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on
PostgreSQL): the audit trail is append-only in the database itself, not only in the code that writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the tables of this revision on the ledger metadata (see 0002 for why).
import vigichem.cases.tables  # noqa: F401

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "case_audit is append-only"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER case_audit_no_update BEFORE UPDATE ON case_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER case_audit_no_delete BEFORE DELETE ON case_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)

POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION case_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$",
    "CREATE TRIGGER case_audit_no_change BEFORE UPDATE OR DELETE ON case_audit "
    "FOR EACH ROW EXECUTE FUNCTION case_audit_append_only()",
    "CREATE TRIGGER case_audit_no_truncate BEFORE TRUNCATE ON case_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_audit_append_only()",
)


def upgrade() -> None:
    """Create the case tables and the audit trail's append-only triggers."""
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("assignee", sa.Text, nullable=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("deadline", sa.DateTime, nullable=False),
        sa.Column("first_event_time", sa.DateTime, nullable=False),
        sa.Column("last_event_time", sa.DateTime, nullable=False),
        sa.Column("reported_at", sa.DateTime, nullable=True),
        sa.Column("closed_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_subject_id", "cases", ["subject_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "case_alerts",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("typology", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("first_event_time", sa.DateTime, nullable=False),
        sa.Column("last_event_time", sa.DateTime, nullable=False),
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("evidence_json", sa.Text, nullable=False),
        sa.Column("event_hash_ids_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_case_alerts"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_alerts_case_id_cases"),
    )
    op.create_index("ix_case_alerts_case_id", "case_alerts", ["case_id"])
    op.create_table(
        "case_evidence",
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("hash_id", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "hash_id", name="pk_case_evidence"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_evidence_case_id_cases"),
    )
    op.create_table(
        "case_audit",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("field", sa.String(24), nullable=True),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_audit"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_audit_case_id_cases"),
    )
    op.create_index("ix_case_audit_case_id", "case_audit", ["case_id"])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers and the case tables (children first)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_audit_no_truncate ON case_audit")
        op.execute("DROP TRIGGER IF EXISTS case_audit_no_change ON case_audit")
        op.execute("DROP FUNCTION IF EXISTS case_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_audit_no_delete")
        op.execute("DROP TRIGGER IF EXISTS case_audit_no_update")
    op.drop_index("ix_case_audit_case_id", "case_audit")
    op.drop_index("ix_case_alerts_case_id", "case_alerts")
    op.drop_index("ix_cases_status", "cases")
    op.drop_index("ix_cases_subject_id", "cases")
    for table in ("case_audit", "case_evidence", "case_alerts", "cases"):
        op.drop_table(table)
