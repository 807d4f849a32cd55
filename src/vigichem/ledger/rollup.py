"""The balance roll-up's refresh: per-group sums of the append-only ledger, from the last rolled-up ``seq``.

The ledger never changes a stored event, so whatever a prefix of the log adds to a balance is fixed once
that prefix is aggregated. :func:`refresh_rollup` aggregates the events captured since the last refresh
(``seq`` from ``ledger_balance_state.next_seq`` up to the log's current end) into the tables of
:mod:`vigichem.ledger.balance_tables`, in one transaction that holds the ledger's write lock on SQLite
(``BEGIN IMMEDIATE``) and a row lock on the state row on PostgreSQL, so two refreshers never count a
``seq`` twice. The same transaction keeps the transit pairing up to date
(:func:`vigichem.ledger.balance_transit.roll_transit`). :mod:`vigichem.ledger.balance_rollup` and
:mod:`vigichem.ledger.balance_transit` read the result; ``docs/balance.md`` ("Roll-up") describes both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    and_,
    bindparam,
    false,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from vigichem.ledger.balance_sql import (
    QUANTITY,
    SIGN,
    SITE,
    UNIT,
    category_expression,
    unindexed,
)
from vigichem.ledger.balance_tables import (
    AFTER_COLUMNS,
    balance_counts,
    balance_declarations,
    balance_groups,
    balance_rows,
    balance_state,
    balance_totals,
    register_groups,
)
from vigichem.ledger.balance_transit import roll_transit
from vigichem.ledger.db import WRITE_LOCK, events, is_postgresql, quantities

__all__ = ["COUNTED", "MOVEMENTS", "ranked_counts", "refresh_rollup"]

COUNTED = "counted"
MOVEMENTS = tuple(name for name in SIGN if name != COUNTED)
"""The categories that move stock (all but the count)."""


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
    register_groups(connection, fresh)
    columns = ["seq", "role", "ordinal", "group_id", "category", "event_time", "qty"]
    connection.execute(
        insert(balance_rows).from_select(columns, _grouped_rows(joined, counted_rows, on_postgresql))
    )
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
    declared = select(events.c.seq).where(
        events.c.seq >= start, events.c.seq < end, events.c.error_declaration.is_(True)
    )
    connection.execute(insert(balance_declarations).from_select(["seq"], declared))
    _update_counts(connection, start, end)
    roll_transit(connection, start, end, on_postgresql)


def _grouped_rows(joined: Any, counted_rows: list[Any], on_postgresql: bool) -> Select[Any]:
    """The new balance rows (``counted_rows`` of ``joined``), each with its group id, for the INSERT."""
    category = category_expression()
    if not on_postgresql:
        # unindexed(): SQLite must probe the groups' unique index per raw row, not scan raw rows per group.
        group_of = and_(
            balance_groups.c.site == unindexed(SITE),
            balance_groups.c.epc_class == unindexed(quantities.c.epc_class),
            balance_groups.c.unit == unindexed(UNIT),
        )
        return (
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
    # PostgreSQL, given one statement, joined the new quantity rows with the groups on (epcClass, unit)
    # first (expecting a hundred matches, getting one per site: 44,000 for 1,100 new rows at 1M events),
    # then looked up an event for each (0.2 s of a refresh of 1,000 events). A materialized CTE makes the
    # order explicit: the new rows with their events (by seq), then their groups.
    new = (
        select(
            quantities.c.seq,
            quantities.c.role,
            quantities.c.ordinal,
            SITE.label("site"),
            quantities.c.epc_class,
            UNIT.label("unit"),
            category.label("category"),
            events.c.event_time,
            QUANTITY.label("qty"),
        )
        .select_from(joined)
        .where(*counted_rows)
        .cte("new_rows")
        .prefix_with("MATERIALIZED")
    )
    group_of = and_(
        balance_groups.c.site == new.c.site,
        balance_groups.c.epc_class == new.c.epc_class,
        balance_groups.c.unit == new.c.unit,
    )
    return select(
        new.c.seq, new.c.role, new.c.ordinal, balance_groups.c.id, new.c.category, new.c.event_time, new.c.qty
    ).select_from(new.join(balance_groups, group_of))


def _update_counts(connection: Connection, start: int, end: int) -> None:
    """Bring ``ledger_balance_counts`` up to date for the groups that rows ``start <= seq < end`` touch."""
    new = balance_rows.alias("new_row")
    in_range = [new.c.seq >= start, new.c.seq < end]
    # unindexed(): the seq range (primary key) is the way in, whatever index a category may get.
    counted = select(new.c.group_id).where(*in_range, unindexed(new.c.category) == COUNTED).distinct()
    # A group with a new count: its last count is found again among all its counts.
    connection.execute(balance_counts.delete().where(balance_counts.c.group_id.in_(counted)))
    latest = ranked_counts(balance_rows.c.group_id.in_(counted), []).subquery("latest")
    columns = ["group_id", "event_time", "seq", "qty", *AFTER_COLUMNS.values()]
    connection.execute(
        insert(balance_counts).from_select(
            columns,
            select(
                latest.c.group_id,
                latest.c.event_time,
                latest.c.seq,
                latest.c.qty,
                *[literal(0.0) for _ in AFTER_COLUMNS],
            ).where(latest.c.rank == 1),
        )
    )
    # A group with a new count: what moved after its count, summed again over the group's rows after it.
    moved = balance_rows.alias("moved")
    after = {
        column: func.coalesce(
            select(func.sum(moved.c.qty))
            .where(
                moved.c.group_id == balance_counts.c.group_id,
                moved.c.event_time > balance_counts.c.event_time,
                moved.c.category == name,
            )
            .scalar_subquery(),
            0.0,
        )
        for name, column in AFTER_COLUMNS.items()
    }
    connection.execute(update(balance_counts).where(balance_counts.c.group_id.in_(counted)).values(**after))
    # Any other touched group with a count keeps its count: what moved after it only grows by the new rows
    # dated after it (read from the seq range, not from each group's rows after its count).
    grown = (
        select(new.c.group_id, new.c.category, func.sum(new.c.qty))
        .select_from(new.join(balance_counts, balance_counts.c.group_id == new.c.group_id))
        .where(
            *in_range,
            new.c.event_time > balance_counts.c.event_time,
            unindexed(new.c.category) != COUNTED,
            new.c.group_id.not_in(counted),
        )
        .group_by(new.c.group_id, new.c.category)
    )
    added: dict[int, dict[str, float]] = {}
    for group_id, name, qty in connection.execute(grown):
        added.setdefault(int(group_id), dict.fromkeys(AFTER_COLUMNS, 0.0))[name] = float(qty)
    if added:
        increment = (
            update(balance_counts)
            .where(balance_counts.c.group_id == bindparam("target"))
            .values(
                **{
                    column: balance_counts.c[column] + bindparam(f"add_{name}", type_=Float)
                    for name, column in AFTER_COLUMNS.items()
                }
            )
        )
        connection.execute(
            increment,
            [
                {"target": group_id, **{f"add_{name}": qty for name, qty in sums.items()}}
                for group_id, sums in added.items()
            ],
        )


def ranked_counts(condition: ColumnElement[bool], withdrawn: list[int]) -> Select[Any]:
    """Count rows meeting ``condition`` (less the ``withdrawn`` seqs), ranked per group.

    Rank 1 is the group's last count: latest eventTime, then capture order (as the reference).
    """
    rows = balance_rows
    rank = (
        func.row_number()
        .over(
            partition_by=rows.c.group_id,
            order_by=(rows.c.event_time.desc(), rows.c.seq.desc(), rows.c.role.desc(), rows.c.ordinal.desc()),
        )
        .label("rank")
    )
    ranked = select(rows.c.group_id, rows.c.event_time, rows.c.seq, rows.c.qty, rank).where(
        rows.c.category == COUNTED, condition
    )
    if withdrawn:
        ranked = ranked.where(rows.c.seq.not_in(withdrawn))
    return ranked


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
