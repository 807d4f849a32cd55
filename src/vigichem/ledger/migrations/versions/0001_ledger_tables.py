"""Ledger tables: documents, events, quantities, EPCs, sources/destinations, checkpoints, log state, node.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

The tables are written out here rather than taken from ``vigichem.ledger.db.metadata`` so that this
revision keeps creating the schema it created on the day it was written; a test checks that the migrated
schema and the metadata agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the ledger tables and their indexes."""
    op.create_table(
        "ledger_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("epcis_document_id", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("duplicate_count", sa.Integer, nullable=False),
        sa.Column("context_json", sa.Text, nullable=False),
        sa.Column("header_json", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_documents"),
    )
    op.create_table(
        "ledger_events",
        # SQLite: INTEGER PRIMARY KEY makes seq the rowid (one b-tree less); PostgreSQL: BIGINT.
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("hash_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("action", sa.String(10), nullable=True),
        sa.Column("event_time", sa.DateTime, nullable=False),
        sa.Column("event_time_offset", sa.String(6), nullable=False),
        sa.Column("record_time", sa.DateTime, nullable=False),
        sa.Column("biz_step", sa.Text, nullable=True),
        sa.Column("disposition", sa.Text, nullable=True),
        sa.Column("read_point", sa.Text, nullable=True),
        sa.Column("biz_location", sa.Text, nullable=True),
        sa.Column("party_ref", sa.Text, nullable=True),
        sa.Column("error_declaration", sa.Boolean, nullable=False),
        sa.Column("document_id", sa.Integer, nullable=False),
        sa.Column("document_index", sa.Integer, nullable=False),
        sa.Column("event_json", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_events"),
        sa.UniqueConstraint("hash_id", name="uq_ledger_events_hash_id"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["ledger_documents.id"],
            name="fk_ledger_events_document_id_ledger_documents",
        ),
    )
    for column in ("event_time", "biz_step", "biz_location", "document_id", "party_ref"):
        op.create_index(f"ix_ledger_events_{column}", "ledger_events", [column])

    op.create_table(
        "ledger_quantities",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("ordinal", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("epc_class", sa.Text, nullable=False),
        sa.Column("quantity", sa.Float, nullable=True),
        sa.Column("uom", sa.String(10), nullable=True),
        sa.Column("base_quantity", sa.Float, nullable=True),
        sa.Column("base_unit", sa.String(2), nullable=True),
        sa.PrimaryKeyConstraint("seq", "role", "ordinal", name="pk_ledger_quantities"),
        sa.ForeignKeyConstraint(
            ["seq"], ["ledger_events.seq"], name="fk_ledger_quantities_seq_ledger_events"
        ),
        sqlite_with_rowid=False,  # the composite primary key is the table: one b-tree less per insert
    )
    op.create_index("ix_ledger_quantities_epc_class", "ledger_quantities", ["epc_class"])

    op.create_table(
        "ledger_epcs",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("ordinal", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("epc", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", "role", "ordinal", name="pk_ledger_epcs"),
        sa.ForeignKeyConstraint(["seq"], ["ledger_events.seq"], name="fk_ledger_epcs_seq_ledger_events"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ledger_epcs_epc", "ledger_epcs", ["epc"])

    op.create_table(
        "ledger_sources",
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("ordinal", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", "kind", "ordinal", name="pk_ledger_sources"),
        sa.ForeignKeyConstraint(["seq"], ["ledger_events.seq"], name="fk_ledger_sources_seq_ledger_events"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ledger_sources_id", "ledger_sources", ["id"])

    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("time", sa.DateTime, nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_checkpoints"),
    )
    op.create_index("ix_ledger_checkpoints_tree_size", "ledger_checkpoints", ["tree_size"])

    log_state = op.create_table(
        "ledger_log_state",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_log_state"),
    )
    # The single log-state row exists from the start: appenders lock it (PostgreSQL) and update it.
    op.bulk_insert(log_state, [{"id": 1, "tree_size": 0, "frontier": b""}])

    op.create_table(
        "node",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_node"),
    )


def downgrade() -> None:
    """Drop the ledger tables (children first)."""
    for table in (
        "node",
        "ledger_log_state",
        "ledger_checkpoints",
        "ledger_sources",
        "ledger_epcs",
        "ledger_quantities",
        "ledger_events",
        "ledger_documents",
    ):
        op.drop_table(table)
