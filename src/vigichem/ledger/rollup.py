"""The balance roll-up: per-group sums of the append-only ledger, refreshed from the last rolled-up ``seq``.

The ledger never changes a stored event, so whatever a prefix of the log adds to a balance is fixed once
that prefix is aggregated. :func:`refresh_rollup` aggregates the events captured since the last refresh
(``seq`` from ``ledger_balance_state.next_seq`` up to the log's current end) into the tables of
:mod:`vigichem.ledger.balance_tables`, in one transaction that holds the ledger's write lock on SQLite
(``BEGIN IMMEDIATE``) and a row lock on the state row on PostgreSQL, so two refreshers never count a
``seq`` twice. :func:`rollup_lot_rows` then answers what :func:`vigichem.ledger.balance_sql.lot_rows`
answers (the reference, kept) from a few thousand grouped rows:

* totals per (site, epcClass, unit) × category come from ``ledger_balance_totals``;
* events withdrawn by an error declaration (few) are left out by re-summing the rows of the groups they
  touch without them (declarations themselves are never rolled up);
* the last stock count of each group and the book stock at that count come from ``ledger_balance_rows``:
  the book stock at the count is the total minus what moved after the count (an index range per group).

It only answers a balance as of a moment no earlier than every stored event's time: a past ``as_of``
(events after it would have to be left out) goes to the reference aggregation (:func:`rollup_covers`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    exists,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from vigichem.ledger.balance_sql import (
    QUANTITY,
    SIGN,
    SITE,
    UNIT,
    Filters,
    category_expression,
    unindexed,
)
from vigichem.ledger.balance_tables import balance_groups, balance_rows, balance_state, balance_totals
from vigichem.ledger.db import WRITE_LOCK, events, is_postgresql, quantities

__all__ = ["refresh_rollup", "rollup_covers", "rollup_lot_rows"]

COUNTED = "counted"
_MOVEMENTS = tuple(name for name in SIGN if name != COUNTED)


def refresh_rollup(engine: Engine) -> int:
    """Roll up every event captured since the last refresh; returns the next ``seq`` to roll up.

    Idempotent (a second call with nothing new does nothing) and safe with concurrent captures and
    refreshers: the range ``[next_seq, max(seq)]`` is read and rolled up under the lock, and seqs are
    assigned in commit order (the capture path's own lock), so every ``seq`` below a visible one is there.
    """
    with engine.connect().execution_options(**WRITE_LOCK) as connection, connection.begin():
        state = select(balance_state.c.next_seq).where(balance_state.c.id == 1)
        if is_postgresql(engine):
            state = state.with_for_update()
        start = int(connection.execute(state).scalar_one())
        top = connection.scalar(select(func.max(events.c.seq)))
        if top is None or int(top) < start:
            return start
        end = int(top) + 1
        _roll(connection, start, end, is_postgresql(engine))
        connection.execute(update(balance_state).where(balance_state.c.id == 1).values(next_seq=end))
    return end


def _roll(connection: Connection, start: int, end: int, on_postgresql: bool) -> None:
    """Aggregate the quantity rows of events ``start <= seq < end`` into the roll-up tables."""
    category = category_expression()
    joined = quantities.join(events, events.c.seq == quantities.c.seq)
    # The same rows the reference aggregation counts: not a declaration, a quantity, a site, a category.
    counted_rows = [
        quantities.c.seq >= start,
        quantities.c.seq < end,
        events.c.error_declaration == false(),
        QUANTITY.is_not(None),
        SITE.is_not(None),
        category.is_not(None),
    ]
    fresh = (
        select(SITE.label("site"), quantities.c.epc_class.label("epc_class"), UNIT.label("unit"))
        .select_from(joined)
        .where(*counted_rows)
        .distinct()
        .subquery("fresh")
    )
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
    # unindexed(): SQLite must probe the groups' unique index per raw row, not scan raw rows per group.
    group_of = and_(
        balance_groups.c.site == unindexed(SITE),
        balance_groups.c.epc_class == unindexed(quantities.c.epc_class),
        balance_groups.c.unit == unindexed(UNIT),
    )
    rows = (
        select(
            quantities.c.seq,
            quantities.c.role,
            quantities.c.ordinal,
            balance_groups.c.id,
            category,
            events.c.event_time,
            QUANTITY,
        )
        .select_from(joined.join(balance_groups, group_of))
        .where(*counted_rows)
    )
    columns = ["seq", "role", "ordinal", "group_id", "category", "event_time", "qty"]
    connection.execute(insert(balance_rows).from_select(columns, rows))
    sums = (
        select(
            balance_rows.c.group_id,
            balance_rows.c.category,
            func.sum(balance_rows.c.qty).label("qty"),
            func.count().label("rows"),
        )
        .where(balance_rows.c.seq >= start, balance_rows.c.seq < end)
        .group_by(balance_rows.c.group_id, balance_rows.c.category)
    )
    added = [
        {"group_id": r.group_id, "category": r.category, "qty": float(r.qty), "rows": int(r.rows)}
        for r in connection.execute(sums)
    ]
    if added:
        connection.execute(_add_totals(on_postgresql), added)


def _add_totals(on_postgresql: bool) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding to an existing total (both dialects spell it the same)."""
    statement = (postgresql.insert if on_postgresql else sqlite.insert)(balance_totals)
    return statement.on_conflict_do_update(
        index_elements=[balance_totals.c.group_id, balance_totals.c.category],
        set_={
            "qty": balance_totals.c.qty + statement.excluded.qty,
            "rows": balance_totals.c.rows + statement.excluded.rows,
        },
    )


def rollup_covers(connection: Connection, as_of: dt.datetime) -> bool:
    """Whether the roll-up can answer a balance as of ``as_of`` (naive UTC): no stored event is later.

    Checked in the reading transaction, over every stored event (rolled up or not), so it errs on the
    side of the reference aggregation.
    """
    latest = connection.scalar(select(func.max(events.c.event_time)))
    return latest is None or latest <= as_of


def rollup_lot_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """What :func:`~vigichem.ledger.balance_sql.lot_rows` returns, read from the roll-up.

    Precondition (:func:`rollup_covers`): no event is later than ``filters.as_of``; ``filters.since`` is
    not supported (the CWC aggregates of a year use their own statement). Events not rolled up yet (captured
    after the last refresh) are not seen.
    """
    if filters.since is not None:
        raise ValueError("the roll-up answers balances from the start of the ledger only")
    group_query = select(
        balance_groups.c.id, balance_groups.c.site, balance_groups.c.epc_class, balance_groups.c.unit
    )
    if filters.site is not None:
        group_query = group_query.where(balance_groups.c.site == filters.site)
    groups = {
        int(r.id): (str(r.site), str(r.epc_class), str(r.unit)) for r in connection.execute(group_query)
    }
    withdrawn = _withdrawn_seqs(connection, filters.excluded_hash_ids)
    totals = _totals(connection, groups, withdrawn)
    counts = _last_counts(connection, groups, withdrawn)
    after = _after_counts(connection, groups, withdrawn) if counts else {}
    rows = []
    for group_id in sorted(set(totals) | set(counts), key=groups.__getitem__):
        sums = totals.get(group_id, dict.fromkeys(_MOVEMENTS, 0.0))
        count = counts.get(group_id)
        moved_after = after.get(group_id, {})
        rows.append(
            {
                **dict(zip(("site", "epc_class", "unit"), groups[group_id], strict=True)),
                **sums,
                "counted": count[1] if count else None,
                "counted_at": count[0] if count else None,
                "expected_at_count": sum(
                    (sums[name] - moved_after.get(name, 0.0)) * SIGN[name] for name in _MOVEMENTS
                )
                if count
                else None,
            }
        )
    return rows


def _withdrawn_seqs(connection: Connection, hash_ids: Any) -> list[int]:
    if not hash_ids:
        return []
    query = select(events.c.seq).where(events.c.hash_id.in_(list(hash_ids)))
    return sorted(int(seq) for seq in connection.scalars(query))


def _totals(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int]
) -> dict[int, dict[str, float]]:
    """Movement sums per group; groups with withdrawn rows are re-summed from their rows without them."""
    totals: dict[int, dict[str, float]] = {}
    query = select(balance_totals.c.group_id, balance_totals.c.category, balance_totals.c.qty).where(
        balance_totals.c.category != COUNTED, balance_totals.c.rows > 0
    )
    for row in connection.execute(query):
        if row.group_id in groups:
            totals.setdefault(int(row.group_id), dict.fromkeys(_MOVEMENTS, 0.0))[row.category] = float(
                row.qty
            )
    if not withdrawn:
        return totals
    touched = {
        int(g)
        for g in connection.scalars(select(balance_rows.c.group_id).where(balance_rows.c.seq.in_(withdrawn)))
    } & set(groups)
    if not touched:
        return totals
    for group_id in touched:
        totals.pop(group_id, None)
    resum = (
        select(balance_rows.c.group_id, balance_rows.c.category, func.sum(balance_rows.c.qty).label("qty"))
        .where(
            balance_rows.c.group_id.in_(sorted(touched)),
            balance_rows.c.seq.not_in(withdrawn),
            balance_rows.c.category != COUNTED,
        )
        .group_by(balance_rows.c.group_id, balance_rows.c.category)
    )
    for row in connection.execute(resum):
        totals.setdefault(int(row.group_id), dict.fromkeys(_MOVEMENTS, 0.0))[row.category] = float(row.qty)
    return totals


def _last_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int]
) -> dict[int, tuple[dt.datetime, float]]:
    """The last stock count of each group: latest eventTime, then capture order (as the reference)."""
    query = (
        select(balance_rows.c.group_id, balance_rows.c.event_time, balance_rows.c.qty)
        .where(balance_rows.c.category == COUNTED)
        .order_by(
            balance_rows.c.group_id,
            balance_rows.c.event_time,
            balance_rows.c.seq,
            balance_rows.c.role,
            balance_rows.c.ordinal,
        )
    )
    if withdrawn:
        query = query.where(balance_rows.c.seq.not_in(withdrawn))
    last: dict[int, tuple[dt.datetime, float]] = {}
    for row in connection.execute(query):
        if row.group_id in groups:
            last[int(row.group_id)] = (row.event_time, float(row.qty))
    return last


def _after_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]], withdrawn: list[int]
) -> dict[int, dict[str, float]]:
    """Per counted group, what moved after its last count (strictly later eventTime), per category."""
    counts = balance_rows.alias("count_row")
    last_query = (
        select(counts.c.group_id.label("group_id"), func.max(counts.c.event_time).label("count_time"))
        .where(counts.c.category == COUNTED)
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
