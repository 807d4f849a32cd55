"""Tables of the balance roll-up (created by migration ``0005``), on the ledger's metadata.

The ledger is append-only, so the balance of a prefix of the log never changes: :mod:`vigichem.ledger.rollup`
aggregates each ``seq`` once into these tables and the balance reads them instead of a million raw rows.

* ``ledger_balance_state``: one row (``id`` 1), ``next_seq``: every event with a lower ``seq`` is rolled up;
  refreshers lock this row (PostgreSQL) or the database (SQLite ``BEGIN IMMEDIATE``) so none double-counts.
* ``ledger_balance_groups``: an integer id per (site, epcClass, unit), so that the rows below group on
  integers instead of long URIs.
* ``ledger_balance_rows``: one row per quantity row that counts in the balance (its category already
  decided), keyed like ``ledger_quantities``; indexed by (group, category, eventTime) for a group's counts
  and for what moved after its last count, per category (migration ``0008``; ``0005`` had a (group,
  eventTime) and a (category, group) index: two page writes per new row instead of one).
* ``ledger_balance_totals``: per group and category the sum and the number of rows.
* ``ledger_balance_counts``: per counted group its last stock count (latest eventTime, then capture order)
  and, per movement category, the sum of what moved strictly after it (``after_*``): the book stock at
  the count is the total minus that. Kept up to date for the groups each refresh touches.
* ``ledger_balance_declarations``: the ``seq`` of every rolled-up error declaration, so that finding the
  withdrawn events does not scan the whole log.
* ``ledger_transit_rows`` (migration ``0006``): one row per shipment quantity row with a destination
  location (``side`` 0, keyed by its *destination* group) and per receipt quantity row (``side`` 1, keyed
  by its site's group), with its ``rank`` in its group and side ((eventTime, seq, ordinal) order, withdrawn
  events included; see :mod:`vigichem.ledger.balance_transit`).
* ``ledger_transit_totals`` (``0006``): per destination group the number and sum of the shipments to it
  (the receipts' are the ``received`` totals above).
* ``ledger_transit_candidates`` (``0006``): per destination group and rank, the shipment of that rank whose
  receipt of the same rank is missing or has another quantity, with that receipt: the only pairs a transit
  issue can come from, with what a report shows of them (hash IDs, times, quantities).
* ``ledger_transit_changed`` (``0006``): scratch rows of one refresh (the groups it re-paired, from which
  rank), emptied by the next.

No foreign keys: these tables are derived data, rebuilt from the ledger by emptying them (the state row
back to 0), and a key check per row would slow the roll-up of a bulk load.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    exists,
    insert,
    select,
)
from sqlalchemy.sql import Subquery

from vigichem.ledger.db import metadata

__all__ = [
    "AFTER_COLUMNS",
    "RECEIPT",
    "SHIPMENT",
    "Groups",
    "balance_counts",
    "balance_declarations",
    "balance_groups",
    "balance_rows",
    "balance_state",
    "balance_totals",
    "group_keys",
    "register_groups",
    "transit_candidates",
    "transit_changed",
    "transit_rows",
    "transit_totals",
]

AFTER_COLUMNS = {
    name: f"after_{name}" for name in ("produced", "received", "shipped", "sold", "consumed", "destroyed")
}
"""The ``ledger_balance_counts`` column of each movement category."""

balance_state = Table(
    "ledger_balance_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("next_seq", BigInteger, nullable=False),
)

balance_groups = Table(
    "ledger_balance_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", Text, nullable=False),
    Column("epc_class", Text, nullable=False),
    Column("unit", Text, nullable=False),
    UniqueConstraint("site", "epc_class", "unit", name="uq_ledger_balance_groups_site"),
)


Groups = dict[int, tuple[str, str, str]]
"""The roll-up's groups: id -> (site, epcClass, unit)."""


def group_keys(connection: Connection, site: str | None = None) -> Groups:
    """Every group of the roll-up (only those of ``site``, a location URI, when given).

    A balance reads them once for the lots and the transit check (8,000 rows at 1M synthetic events).
    """
    query = select(
        balance_groups.c.id, balance_groups.c.site, balance_groups.c.epc_class, balance_groups.c.unit
    )
    if site is not None:
        query = query.where(balance_groups.c.site == site)
    # Rows unpacked as tuples: attribute access per column costs more over thousands of groups.
    return {
        int(group_id): (str(site_), str(epc_class), str(unit))
        for group_id, site_, epc_class, unit in connection.execute(query)
    }


def register_groups(connection: Connection, fresh: Subquery) -> None:
    """Give a group id to each (site, epc_class, unit) of ``fresh`` that has none yet.

    ``fresh`` is a subquery with those three columns (the new rows' groups of one roll-up refresh).
    """
    known = exists().where(
        balance_groups.c.site == fresh.c.site,
        balance_groups.c.epc_class == fresh.c.epc_class,
        balance_groups.c.unit == fresh.c.unit,
    )
    connection.execute(
        insert(balance_groups).from_select(
            ["site", "epc_class", "unit"], select(fresh.c.site, fresh.c.epc_class, fresh.c.unit).where(~known)
        )
    )


balance_rows = Table(
    "ledger_balance_rows",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("role", String(10), primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("group_id", Integer, nullable=False),
    Column("category", String(10), nullable=False),
    Column("event_time", DateTime, nullable=False),
    Column("qty", Float, nullable=False),
    Index("ix_ledger_balance_rows_group_category_time", "group_id", "category", "event_time"),
)

balance_totals = Table(
    "ledger_balance_totals",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=False),
    Column("category", String(10), primary_key=True),
    Column("qty", Float, nullable=False),
    Column("rows", BigInteger, nullable=False),
)

balance_counts = Table(
    "ledger_balance_counts",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=False),
    Column("event_time", DateTime, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("qty", Float, nullable=False),
    *[Column(column, Float, nullable=False) for column in AFTER_COLUMNS.values()],
)

balance_declarations = Table(
    "ledger_balance_declarations",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
)

SHIPMENT = 0
"""``ledger_transit_rows.side`` of a shipment."""
RECEIPT = 1
"""``ledger_transit_rows.side`` of a receipt."""

transit_rows = Table(
    "ledger_transit_rows",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("side", SmallInteger, nullable=False),
    Column("group_id", Integer, nullable=False),
    Column("origin_group_id", Integer, nullable=True),
    Column("event_time", DateTime, nullable=False),
    Column("qty", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Index("ix_ledger_transit_rows_group_rank", "group_id", "side", "rank"),
    Index("ix_ledger_transit_rows_group_time", "group_id", "side", "event_time"),
)

transit_totals = Table(
    "ledger_transit_totals",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=False),
    Column("qty", Float, nullable=False),
    Column("rows", BigInteger, nullable=False),
)

transit_candidates = Table(
    "ledger_transit_candidates",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=False),
    Column("rank", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("origin_group_id", Integer, nullable=True),
    Column("shipment_event", Text, nullable=False),
    Column("shipped_at", DateTime, nullable=False),
    Column("shipped_quantity", Float, nullable=False),
    Column("receipt_event", Text, nullable=True),
    Column("received_at", DateTime, nullable=True),
    Column("received_quantity", Float, nullable=True),
)

transit_changed = Table(
    "ledger_transit_changed",
    metadata,
    Column("group_id", Integer, primary_key=True, autoincrement=False),
    Column("from_rank", Integer, nullable=False),
)
