"""Transit roll-up: shipments and receipts ranked per destination group, their pairing kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Written out in full, as the earlier revisions are. The tables hold derived data only (see
:mod:`vigichem.ledger.balance_tables` and :mod:`vigichem.ledger.balance_transit`). The balance roll-up of
``0005`` is emptied and its state set back to 0, so that the first balance after the upgrade rolls up the
whole ledger again, transit included (the tables of ``0005`` and ``0006`` always cover the same ``seq``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the tables of this revision on the ledger metadata (see 0002 for why).
import vigichem.ledger.balance_tables  # noqa: F401

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUP_TABLES = (
    "ledger_balance_declarations",
    "ledger_balance_counts",
    "ledger_balance_totals",
    "ledger_balance_rows",
    "ledger_balance_groups",
)


def _restart_rollup() -> None:
    """Empty the balance roll-up (derived data): the next balance rebuilds it from the ledger."""
    for table in _ROLLUP_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("UPDATE ledger_balance_state SET next_seq = 0 WHERE id = 1"))


def upgrade() -> None:
    """Create the transit roll-up tables and restart the roll-up from the first event."""
    op.create_table(
        "ledger_transit_rows",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("ordinal", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("side", sa.SmallInteger, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("origin_group_id", sa.Integer, nullable=True),
        sa.Column("event_time", sa.DateTime, nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("seq", "ordinal", name="pk_ledger_transit_rows"),
    )
    op.create_index("ix_ledger_transit_rows_group_rank", "ledger_transit_rows", ["group_id", "side", "rank"])
    op.create_index(
        "ix_ledger_transit_rows_group_time", "ledger_transit_rows", ["group_id", "side", "event_time"]
    )
    op.create_table(
        "ledger_transit_totals",
        sa.Column("group_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_ledger_transit_totals"),
    )
    op.create_table(
        "ledger_transit_candidates",
        sa.Column("group_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("rank", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("origin_group_id", sa.Integer, nullable=True),
        sa.Column("shipment_event", sa.Text, nullable=False),
        sa.Column("shipped_at", sa.DateTime, nullable=False),
        sa.Column("shipped_quantity", sa.Float, nullable=False),
        sa.Column("receipt_event", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime, nullable=True),
        sa.Column("received_quantity", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("group_id", "rank", name="pk_ledger_transit_candidates"),
    )
    op.create_table(
        "ledger_transit_changed",
        sa.Column("group_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("from_rank", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_ledger_transit_changed"),
    )
    _restart_rollup()


def downgrade() -> None:
    """Drop the transit roll-up tables (the balance roll-up of ``0005`` does not need them)."""
    op.drop_table("ledger_transit_changed")
    op.drop_table("ledger_transit_candidates")
    op.drop_index("ix_ledger_transit_rows_group_time", "ledger_transit_rows")
    op.drop_index("ix_ledger_transit_rows_group_rank", "ledger_transit_rows")
    op.drop_table("ledger_transit_totals")
    op.drop_table("ledger_transit_rows")
