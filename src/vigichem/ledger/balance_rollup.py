"""The balance read from the roll-up: what the full aggregation answers, from a few thousand grouped rows.

:func:`rollup_lot_rows` answers what :func:`vigichem.ledger.balance_sql.lot_rows` (the reference, kept)
answers, from the tables :func:`vigichem.ledger.rollup.refresh_rollup` keeps:

* totals per (site, epcClass, unit) × category come from ``ledger_balance_totals``;
* the last stock count of each group and what moved after it from ``ledger_balance_counts``: the book
  stock at the count is the total minus what moved after it;
* events withdrawn by an error declaration (few) are left out by summing again, without them, the rows of
  the groups they touch, and finding those groups' last count again (declarations themselves are never
  rolled up); :func:`declarations` finds the declarations by ``seq`` instead of scanning the log.

It only answers a balance as of a moment no earlier than every stored event's time: a past ``as_of``
(events after it would have to be left out) goes to the reference aggregation (:func:`rollup_covers`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from vigichem.ledger.balance_sql import SIGN, Filters
from vigichem.ledger.balance_tables import (
    AFTER_COLUMNS,
    Groups,
    balance_counts,
    balance_declarations,
    balance_rows,
    balance_state,
    balance_totals,
    group_keys,
)
from vigichem.ledger.db import documents, events
from vigichem.ledger.rollup import COUNTED, MOVEMENTS, ranked_counts

__all__ = ["declarations", "rollup_covers", "rollup_lot_rows", "withdrawn_seqs"]


def rollup_covers(connection: Connection, as_of: dt.datetime) -> bool:
    """Whether the roll-up can answer a balance as of ``as_of`` (naive UTC): no stored event is later.

    Checked in the reading transaction, over every stored event (rolled up or not), so it errs on the
    side of the reference aggregation.
    """
    latest = connection.scalar(select(func.max(events.c.event_time)))
    return latest is None or latest <= as_of


def rollup_lot_rows(
    connection: Connection, filters: Filters, all_groups: Groups | None = None
) -> list[dict[str, Any]]:
    """What :func:`~vigichem.ledger.balance_sql.lot_rows` returns, read from the roll-up.

    Precondition (:func:`rollup_covers`): no event is later than ``filters.as_of``; ``filters.since`` is
    not supported (the CWC aggregates of a year use their own statement). Events not rolled up yet (captured
    after the last refresh) are not seen. ``all_groups``: :func:`group_keys` when the caller has read them
    (in the same snapshot).
    """
    if filters.since is not None:
        raise ValueError("the roll-up answers balances from the start of the ledger only")
    if all_groups is None:
        groups = group_keys(connection, filters.site)
    elif filters.site is not None:
        groups = {group_id: key for group_id, key in all_groups.items() if key[0] == filters.site}
    else:
        groups = all_groups
    # Rows unpacked as tuples below: attribute access per column costs more over 8,000 groups.
    withdrawn = withdrawn_seqs(connection, filters.excluded_hash_ids)
    touched: list[int] = []
    if withdrawn:
        query = select(balance_rows.c.group_id).where(balance_rows.c.seq.in_(withdrawn)).distinct()
        touched = sorted(int(g) for g in connection.scalars(query) if g in groups)
    totals = _totals(connection, groups, withdrawn, touched)
    counts = _stored_counts(connection, groups)
    if touched:
        # Groups with withdrawn rows: their last count and what moved after it, found again without them.
        for group_id in touched:
            counts.pop(group_id, None)
        last = _last_counts(connection, groups, withdrawn, touched)
        after = _after_counts(connection, groups, withdrawn, touched) if last else {}
        counts.update({g: (when, qty, after.get(g, {})) for g, (when, qty) in last.items()})
    rows = []
    nothing = dict.fromkeys(MOVEMENTS, 0.0)  # only read: each row copies it
    signs = [(name, SIGN[name]) for name in MOVEMENTS]
    # One dict per group (8,000 at 1M events), written out; the book stock at the count is summed with
    # sum() as before (the same additions in the same order, so the same float).
    for group_id in sorted(set(totals) | set(counts), key=groups.__getitem__):
        site, epc_class, unit = groups[group_id]
        sums = totals.get(group_id, nothing)
        count = counts.get(group_id)
        if count is None:
            counted_at, counted, at_count = None, None, None
        else:
            counted_at, counted, moved = count
            at_count = sum([(sums[name] - moved.get(name, 0.0)) * sign for name, sign in signs])
        rows.append(
            {
                "site": site,
                "epc_class": epc_class,
                "unit": unit,
                **sums,
                "counted": counted,
                "counted_at": counted_at,
                "expected_at_count": at_count,
            }
        )
    return rows


def _stored_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]]
) -> dict[int, tuple[dt.datetime, float, dict[str, float]]]:
    after = [balance_counts.c[column] for column in AFTER_COLUMNS.values()]
    query = select(balance_counts.c.group_id, balance_counts.c.event_time, balance_counts.c.qty, *after)
    return {
        int(group_id): (event_time, float(qty), dict(zip(AFTER_COLUMNS, map(float, moved), strict=True)))
        for group_id, event_time, qty, *moved in connection.execute(query)
        if group_id in groups
    }


def declarations(connection: Connection) -> list[tuple[str, str]]:
    """(event JSON, its document's ``@context`` JSON) of every error declaration, as
    :func:`~vigichem.ledger.balance_sql.declared_errors` gives them, without scanning the log: the rolled-up
    ones through ``ledger_balance_declarations``, the others by ``seq`` from the state's ``next_seq``."""
    next_seq = int(connection.scalar(select(balance_state.c.next_seq).where(balance_state.c.id == 1)) or 0)
    columns = (events.c.event_json, documents.c.context_json)
    with_document = events.join(documents, documents.c.id == events.c.document_id)
    rolled = (
        select(*columns)
        .select_from(balance_declarations.join(with_document, events.c.seq == balance_declarations.c.seq))
        # Ordered by the declarations' own key: ordering by the events' would scan the whole log.
        .order_by(balance_declarations.c.seq)
    )
    recent = (
        select(*columns)
        .select_from(with_document)
        .where(events.c.seq >= next_seq, events.c.error_declaration.is_(True))
        .order_by(events.c.seq)
    )
    return [(row[0], row[1]) for query in (rolled, recent) for row in connection.execute(query)]


def withdrawn_seqs(connection: Connection, hash_ids: Any) -> list[int]:
    """The ``seq`` of the stored events among ``hash_ids`` (the withdrawn events), sorted."""
    if not hash_ids:
        return []
    query = select(events.c.seq).where(events.c.hash_id.in_(list(hash_ids)))
    return sorted(int(seq) for seq in connection.scalars(query))


def _pivot(rows: Any, groups: dict[int, tuple[str, str, str]]) -> dict[int, dict[str, float]]:
    # The columns are the group id, then one per category in MOVEMENTS order (_per_category).
    return {
        int(group_id): dict(zip(MOVEMENTS, map(float, sums), strict=True))
        for group_id, *sums in rows
        if group_id in groups
    }


def _per_category(table: Any) -> list[Any]:
    """One summed column per movement category (one row per group instead of one per category)."""
    return [
        func.sum(case((table.c.category == name, table.c.qty), else_=0.0)).label(name) for name in MOVEMENTS
    ]


def _totals(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int], touched: list[int]
) -> dict[int, dict[str, float]]:
    """Movement sums per group; groups with withdrawn rows are re-summed from their rows without them."""
    query = (
        select(balance_totals.c.group_id, *_per_category(balance_totals))
        .where(balance_totals.c.category != COUNTED, balance_totals.c.rows > 0)
        .group_by(balance_totals.c.group_id)
    )
    totals = _pivot(connection.execute(query), groups)
    if not touched:
        return totals
    for group_id in touched:
        totals.pop(group_id, None)
    resum = (
        select(balance_rows.c.group_id, *_per_category(balance_rows))
        .where(
            balance_rows.c.group_id.in_(touched),
            balance_rows.c.seq.not_in(withdrawn),
            balance_rows.c.category != COUNTED,
        )
        .group_by(balance_rows.c.group_id)
    )
    totals.update(_pivot(connection.execute(resum), groups))
    return totals


def _last_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int], only: list[int]
) -> dict[int, tuple[dt.datetime, float]]:
    """The last stock count of each of the groups ``only``, leaving out the ``withdrawn`` rows."""
    latest = ranked_counts(balance_rows.c.group_id.in_(only), withdrawn).subquery("ranked")
    query = select(latest.c.group_id, latest.c.event_time, latest.c.qty).where(latest.c.rank == 1)
    return {
        int(row.group_id): (row.event_time, float(row.qty))
        for row in connection.execute(query)
        if row.group_id in groups
    }


def _after_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int], only: list[int]
) -> dict[int, dict[str, float]]:
    """Per counted group of ``only``, what moved after its last count (strictly later eventTime)."""
    counts = balance_rows.alias("count_row")
    last_query = (
        select(counts.c.group_id.label("group_id"), func.max(counts.c.event_time).label("count_time"))
        .where(counts.c.category == COUNTED, counts.c.group_id.in_(only))
        .group_by(counts.c.group_id)
    )
    if withdrawn:
        last_query = last_query.where(counts.c.seq.not_in(withdrawn))
    last = last_query.subquery("last_count")
    moved = balance_rows.alias("moved")
    query = (
        select(moved.c.group_id, moved.c.category, func.sum(moved.c.qty).label("qty"))
        .select_from(
            last.join(
                moved, and_(moved.c.group_id == last.c.group_id, moved.c.event_time > last.c.count_time)
            )
        )
        .where(moved.c.category != COUNTED)
        .group_by(moved.c.group_id, moved.c.category)
    )
    if withdrawn:
        query = query.where(moved.c.seq.not_in(withdrawn))
    after: dict[int, dict[str, float]] = {}
    for row in connection.execute(query):
        if row.group_id in groups:
            after.setdefault(int(row.group_id), {})[row.category] = float(row.qty)
    return after
