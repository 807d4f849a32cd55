"""Balance roll-up: ``ledger_balance_rows`` with one (group, category, eventTime) index instead of two.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

Why: every refresh of the roll-up inserts one row per new quantity row, and each insertion lands on a
leaf page of every index of the table chosen by its key. The (category, group) index spread 1,000 new
rows over about 1,000 pages, and no statement needs it: the refresh reaches its new rows by ``seq`` (the
primary key). The (group, eventTime) index becomes (group, category, eventTime): as many entries, and it
serves both the counts of a group (its last count: a handful of entries instead of its every row, about
140 at 1M events, each looked up in the table to read its category) and what moved after a count per
category (a range per group and category). Pages written per refresh of 1,000 events on SQLite (write-
ahead-log frames): 3,140–3,210 → 2,310–2,380 on 300,000-event ledgers built from scratch; less log to
write, sync and checkpoint (docs/balance.md, "Speed").
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "ledger_balance_rows"


def upgrade() -> None:
    """Replace the two indexes by one (derived data only: nothing else changes)."""
    op.drop_index("ix_ledger_balance_rows_category_group", _TABLE)
    op.drop_index("ix_ledger_balance_rows_group_time", _TABLE)
    op.create_index(
        "ix_ledger_balance_rows_group_category_time", _TABLE, ["group_id", "category", "event_time"]
    )


def downgrade() -> None:
    """The indexes of ``0005`` again."""
    op.drop_index("ix_ledger_balance_rows_group_category_time", _TABLE)
    op.create_index("ix_ledger_balance_rows_group_time", _TABLE, ["group_id", "event_time"])
    op.create_index("ix_ledger_balance_rows_category_group", _TABLE, ["category", "group_id"])
