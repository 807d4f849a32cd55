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
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    exists,
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
    Filters,
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
)
from vigichem.ledger.db import WRITE_LOCK, documents, events, is_postgresql, quantities

__all__ = ["declarations", "refresh_rollup", "rollup_covers", "rollup_lot_rows"]

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
    declared = select(events.c.seq).where(
        events.c.seq >= start, events.c.seq < end, events.c.error_declaration.is_(True)
    )
    connection.execute(insert(balance_declarations).from_select(["seq"], declared))
    _update_counts(connection, start, end)


def _update_counts(connection: Connection, start: int, end: int) -> None:
    """Bring ``ledger_balance_counts`` up to date for the groups that rows ``start <= seq < end`` touch."""
    new = balance_rows.alias("new_row")
    in_range = [new.c.seq >= start, new.c.seq < end]
    counted = select(new.c.group_id).where(*in_range, new.c.category == COUNTED).distinct()
    touched = select(new.c.group_id).where(*in_range).distinct()
    # A group with a new count: its last count is found again among all its counts.
    connection.execute(balance_counts.delete().where(balance_counts.c.group_id.in_(counted)))
    latest = _ranked_counts(balance_rows.c.group_id.in_(counted), []).subquery("latest")
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
    # Every touched group with a count: what moved after the count, summed again over the group's range.
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
    connection.execute(update(balance_counts).where(balance_counts.c.group_id.in_(touched)).values(**after))


def _ranked_counts(condition: ColumnElement[bool], withdrawn: list[int]) -> Select[Any]:
    """Count rows ranked per group, 1 being the last count: latest eventTime, then capture order."""
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
    for group_id in sorted(set(totals) | set(counts), key=groups.__getitem__):
        sums = totals.get(group_id, dict.fromkeys(_MOVEMENTS, 0.0))
        count = counts.get(group_id)
        rows.append(
            {
                **dict(zip(("site", "epc_class", "unit"), groups[group_id], strict=True)),
                **sums,
                "counted": count[1] if count else None,
                "counted_at": count[0] if count else None,
                "expected_at_count": sum(
                    (sums[name] - count[2].get(name, 0.0)) * SIGN[name] for name in _MOVEMENTS
                )
                if count
                else None,
            }
        )
    return rows


def _stored_counts(
    connection: Connection, groups: dict[int, tuple[str, str, str]]
) -> dict[int, tuple[dt.datetime, float, dict[str, float]]]:
    query = select(balance_counts)
    return {
        int(row.group_id): (
            row.event_time,
            float(row.qty),
            {name: float(getattr(row, column)) for name, column in AFTER_COLUMNS.items()},
        )
        for row in connection.execute(query)
        if row.group_id in groups
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
        .order_by(events.c.seq)
    )
    recent = (
        select(*columns)
        .select_from(with_document)
        .where(events.c.seq >= next_seq, events.c.error_declaration.is_(True))
        .order_by(events.c.seq)
    )
    return [(row[0], row[1]) for query in (rolled, recent) for row in connection.execute(query)]


def _withdrawn_seqs(connection: Connection, hash_ids: Any) -> list[int]:
    if not hash_ids:
        return []
    query = select(events.c.seq).where(events.c.hash_id.in_(list(hash_ids)))
    return sorted(int(seq) for seq in connection.scalars(query))


def _pivot(rows: Any, groups: dict[int, tuple[str, str, str]]) -> dict[int, dict[str, float]]:
    return {
        int(row.group_id): {name: float(getattr(row, name)) for name in _MOVEMENTS}
        for row in rows
        if row.group_id in groups
    }


def _per_category(table: Any) -> list[Any]:
    """One summed column per movement category (one row per group instead of one per category)."""
    return [
        func.sum(case((table.c.category == name, table.c.qty), else_=0.0)).label(name) for name in _MOVEMENTS
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
    latest = _ranked_counts(balance_rows.c.group_id.in_(only), withdrawn).subquery("ranked")
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
