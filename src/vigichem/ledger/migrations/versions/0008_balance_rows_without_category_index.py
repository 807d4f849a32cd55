"""Balance roll-up: ``ledger_balance_rows`` without its (category, group) index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

Why: every refresh of the roll-up inserts one row per new quantity row, and each insertion lands on a
leaf page of every index of the table chosen by its key; the (category, group) index spreads 1,000 new
rows over about 1,000 pages, a quarter of the pages a refresh writes (3,840 → 2,810 pages written per
1,000 events on a 1M-event SQLite ledger: less write-ahead log to write, sync and checkpoint). No
statement needs it any more: the refresh reaches its new rows by ``seq`` (the primary key) and the
counts of a group through the (group, eventTime) index, which holds all of that group's rows (about
125 per group at 1M events).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index (derived data only: nothing else changes)."""
    op.drop_index("ix_ledger_balance_rows_category_group", "ledger_balance_rows")


def downgrade() -> None:
    """Create it again."""
    op.create_index("ix_ledger_balance_rows_category_group", "ledger_balance_rows", ["category", "group_id"])
