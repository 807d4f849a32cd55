"""Balance roll-up: aggregates of the append-only ledger, refreshed from the last rolled-up ``seq``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Written out in full, as the earlier revisions are, so that it keeps creating what it created on the day it
was written. The tables hold derived data only (see :mod:`vigichem.ledger.balance_tables`): an existing
ledger is rolled up by the first balance after the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the tables of this revision on the ledger metadata (see 0002 for why).
import vigichem.ledger.balance_tables  # noqa: F401

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the roll-up tables and the state row (nothing rolled up yet)."""
    state = op.create_table(
        "ledger_balance_state",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_balance_state"),
    )
    # The single state row exists from the start: refreshers lock it (PostgreSQL) and move it on.
    op.bulk_insert(state, [{"id": 1, "next_seq": 0}])
    op.create_table(
        "ledger_balance_groups",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("epc_class", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_balance_groups"),
        sa.UniqueConstraint("site", "epc_class", "unit", name="uq_ledger_balance_groups_site"),
    )
    op.create_table(
        "ledger_balance_rows",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("ordinal", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("category", sa.String(10), nullable=False),
        sa.Column("event_time", sa.DateTime, nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("seq", "role", "ordinal", name="pk_ledger_balance_rows"),
    )
    op.create_index("ix_ledger_balance_rows_group_time", "ledger_balance_rows", ["group_id", "event_time"])
    op.create_index("ix_ledger_balance_rows_category_group", "ledger_balance_rows", ["category", "group_id"])
    op.create_table(
        "ledger_balance_totals",
        sa.Column("group_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("category", sa.String(10), nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "category", name="pk_ledger_balance_totals"),
    )
    op.create_table(
        "ledger_balance_counts",
        sa.Column("group_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("event_time", sa.DateTime, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("after_produced", sa.Float, nullable=False),
        sa.Column("after_received", sa.Float, nullable=False),
        sa.Column("after_shipped", sa.Float, nullable=False),
        sa.Column("after_sold", sa.Float, nullable=False),
        sa.Column("after_consumed", sa.Float, nullable=False),
        sa.Column("after_destroyed", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_ledger_balance_counts"),
    )
    op.create_table(
        "ledger_balance_declarations",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_balance_declarations"),
    )


def downgrade() -> None:
    """Drop the roll-up tables."""
    op.drop_index("ix_ledger_balance_rows_category_group", "ledger_balance_rows")
    op.drop_index("ix_ledger_balance_rows_group_time", "ledger_balance_rows")
    for table in (
        "ledger_balance_declarations",
        "ledger_balance_counts",
        "ledger_balance_totals",
        "ledger_balance_rows",
        "ledger_balance_groups",
        "ledger_balance_state",
    ):
        op.drop_table(table)
