"""The balance's transit check from the roll-up: shipments ranked per destination group, pairing kept.

The reference (:func:`vigichem.ledger.balance_sql.transit_rows`, kept) groups shipments to a destination
location and receipts at that site per (destination, epcClass, unit); a group whose shipments and receipts
agree in number and total (rounded to 6 decimals) is reconciled as a whole; in the other groups the n-th
shipment in (eventTime, seq, ordinal) order is paired with the n-th receipt. It reads every shipment and
receipt of the groups that disagree, on every balance.

Here the same pairing is kept up to date by the roll-up's refresh (:func:`roll_transit`, called by
:func:`vigichem.ledger.rollup.refresh_rollup` in its transaction, under its lock) in
``ledger_transit_rows``:

* each new shipment row (with a destination location) and receipt row is inserted with its group (the
  balance's group ids: the destination's for a shipment, the site's for a receipt);
* its ``rank`` in its group and side is set; rows that arrive in time order only rank themselves, an
  earlier-dated row re-ranks the rows of its group and side from its time on (one statement);
* the pairs of a group from the first rank that moved on either side are paired again, and those whose
  receipt is missing or has another quantity are kept, with what a report shows of both events, in
  ``ledger_transit_candidates`` (the pairs with equal quantities never make an issue).

A balance (:func:`rollup_transit_issues`; :func:`rollup_transit_rows` gives the same rows as dicts)
reads the per-group totals (``ledger_transit_totals`` for shipments, the ``received`` totals of the
balance for receipts) to tell the groups that disagree, and the candidates of those groups: the rows from
which :func:`vigichem.ledger.balance.transit_issues` can report something, a few columns each from one
small table. Groups touched by an error declaration (the withdrawn events count in the stored ranks) and
a balance confined to one origin site (``--site``: the reference ranks only that site's shipments) are
paired again in Python from the stored rows of the groups concerned. ``docs/balance.md`` ("Transit",
"Roll-up") describes both paths.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from vigichem.ledger.balance_models import TransitIssue, new_transit_issue
from vigichem.ledger.balance_sql import (
    CATEGORY_RULES,
    QUANTITY,
    UNIT,
    Filters,
    unindexed,
)
from vigichem.ledger.balance_tables import (
    RECEIPT,
    SHIPMENT,
    Groups,
    balance_groups,
    balance_rows,
    balance_totals,
    group_keys,
    register_groups,
    transit_candidates,
    transit_changed,
    transit_rows,
    transit_totals,
)
from vigichem.ledger.db import events, quantities, sources

__all__ = [
    "MISMATCH_TOLERANCE",
    "roll_transit",
    "rollup_transit_issues",
    "rollup_transit_rows",
    "transit_issue",
]

_CHUNK = 500
"""Ids per IN list (SQLite's and drivers' parameter limits; thousands of groups may be concerned)."""

# ---- refresh ---------------------------------------------------------------------------------------------


def roll_transit(connection: Connection, start: int, end: int, on_postgresql: bool) -> None:
    """Add the shipments and receipts of events ``start <= seq < end`` to the transit roll-up.

    Runs inside the roll-up's refresh transaction, after the balance rows of the range are inserted (the
    receipts and the shipments' origin groups are read from them).
    """
    destination = (
        select(sources.c.seq.label("seq"), func.min(sources.c.id).label("destination"))
        .where(
            sources.c.seq >= start,
            sources.c.seq < end,
            sources.c.kind == "destination",
            sources.c.type == "location",
        )
        .group_by(sources.c.seq)
        .subquery("destination")
    )
    shipped_from = quantities.join(events, events.c.seq == quantities.c.seq).join(
        destination, destination.c.seq == quantities.c.seq
    )
    # The rows the reference counts as shipments: not a declaration, a quantity, the shipping rule.
    shipped = [
        quantities.c.seq >= start,
        quantities.c.seq < end,
        events.c.error_declaration == false(),
        QUANTITY.is_not(None),
        CATEGORY_RULES["shipped"],
    ]
    fresh = (
        select(
            destination.c.destination.label("site"),
            quantities.c.epc_class.label("epc_class"),
            UNIT.label("unit"),
        )
        .select_from(shipped_from)
        .where(*shipped)
        .distinct()
        .subquery("fresh_destination")
    )
    register_groups(connection, fresh)
    columns = ["seq", "ordinal", "side", "group_id", "origin_group_id", "event_time", "qty", "rank"]
    origin = balance_rows.alias("origin_row")
    to_group = and_(
        balance_groups.c.site == unindexed(destination.c.destination),
        balance_groups.c.epc_class == unindexed(quantities.c.epc_class),
        balance_groups.c.unit == unindexed(UNIT),
    )
    shipments = (
        select(
            quantities.c.seq,
            quantities.c.ordinal,
            literal(SHIPMENT),
            balance_groups.c.id,
            origin.c.group_id,  # the shipment's own balance row: its site's group (none without a site)
            events.c.event_time,
            QUANTITY,
            literal(-1),
        )
        .select_from(
            shipped_from.join(balance_groups, to_group).outerjoin(
                origin,
                and_(
                    origin.c.seq == quantities.c.seq,
                    origin.c.role == quantities.c.role,
                    origin.c.ordinal == quantities.c.ordinal,
                ),
            )
        )
        .where(*shipped)
    )
    connection.execute(insert(transit_rows).from_select(columns, shipments))
    receipts = select(
        balance_rows.c.seq,
        balance_rows.c.ordinal,
        literal(RECEIPT),
        balance_rows.c.group_id,
        null(),
        balance_rows.c.event_time,
        balance_rows.c.qty,
        literal(-1),
    ).where(
        balance_rows.c.seq >= start,
        balance_rows.c.seq < end,
        # unindexed(): the seq range (primary key) is the way in, whatever index a category may get.
        unindexed(balance_rows.c.category) == "received",
    )
    connection.execute(insert(transit_rows).from_select(columns, receipts))
    sums = (
        select(transit_rows.c.group_id, func.sum(transit_rows.c.qty).label("qty"), func.count().label("rows"))
        .where(transit_rows.c.seq >= start, transit_rows.c.seq < end, transit_rows.c.side == SHIPMENT)
        .group_by(transit_rows.c.group_id)
    )
    added = [
        {"group_id": r.group_id, "qty": float(r.qty), "rows": int(r.rows)} for r in connection.execute(sums)
    ]
    if added:
        connection.execute(_add_totals(on_postgresql), added)
    _rerank(connection, start, end, on_postgresql)


def _rerank(connection: Connection, start: int, end: int, on_postgresql: bool) -> None:
    """Rank the new rows, re-rank the rows after an earlier-dated one, and pair the shipments again."""
    new = transit_rows.alias("new_row")
    firsts = (
        select(new.c.group_id, new.c.side, func.min(new.c.event_time).label("first_time"))
        .where(new.c.seq >= start, new.c.seq < end)
        .group_by(new.c.group_id, new.c.side)
        .subquery("firsts")
    )
    before = transit_rows.alias("before_row")
    # The rows dated before a group's first new row keep their ranks 0 … base − 1.
    base = (
        select(func.count())
        .select_from(before)
        .where(
            before.c.group_id == firsts.c.group_id,
            before.c.side == firsts.c.side,
            before.c.event_time < firsts.c.first_time,
        )
        .scalar_subquery()
    )
    starts = select(firsts.c.group_id, firsts.c.side, firsts.c.first_time, base.label("base")).subquery(
        "starts"
    )
    row = transit_rows.alias("ranked_row")
    order = func.row_number().over(
        partition_by=(row.c.group_id, row.c.side), order_by=(row.c.event_time, row.c.seq, row.c.ordinal)
    )
    ranked = (
        select(
            row.c.seq,
            row.c.ordinal,
            row.c.rank.label("old_rank"),
            (starts.c.base + order - 1).label("new_rank"),
        )
        .select_from(
            starts.join(
                row,
                and_(
                    row.c.group_id == starts.c.group_id,
                    row.c.side == starts.c.side,
                    row.c.event_time >= starts.c.first_time,
                ),
            )
        )
        .subquery("ranked")
    )
    connection.execute(
        update(transit_rows)
        .where(
            transit_rows.c.seq == ranked.c.seq,
            transit_rows.c.ordinal == ranked.c.ordinal,
            ranked.c.new_rank != ranked.c.old_rank,
        )
        .values(rank=ranked.c.new_rank)
    )
    # A shipment's pairing changes only from the first rank that moved on either side of its group.
    connection.execute(delete(transit_changed))
    changed = select(starts.c.group_id, func.min(starts.c.base)).group_by(starts.c.group_id)
    connection.execute(insert(transit_changed).from_select(["group_id", "from_rank"], changed))
    if on_postgresql:
        # The scratch table's statistics are those of some earlier refresh (thousands of groups after a
        # bulk load): without fresh ones PostgreSQL hash-joins whole tables (the log twice) below.
        connection.exec_driver_sql("ANALYZE ledger_transit_changed")
    connection.execute(
        delete(transit_candidates).where(
            exists().where(
                transit_changed.c.group_id == transit_candidates.c.group_id,
                transit_candidates.c.rank >= transit_changed.c.from_rank,
            )
        )
    )
    shipment = transit_rows.alias("shipment")
    receipt = transit_rows.alias("receipt")
    shipment_event = events.alias("shipment_event")
    receipt_event = events.alias("receipt_event")
    pairs = (
        select(
            shipment.c.group_id,
            shipment.c.rank,
            shipment.c.seq,
            shipment.c.ordinal,
            shipment.c.origin_group_id,
            shipment_event.c.hash_id,
            shipment.c.event_time,
            shipment.c.qty,
            receipt_event.c.hash_id,
            receipt.c.event_time,
            receipt.c.qty,
        )
        .select_from(
            transit_changed.join(
                shipment,
                and_(
                    # ``+ 0``: no index on the scratch side, so SQLite walks the few changed groups and
                    # reaches their shipments by the (group, side, rank) index instead of scanning them all.
                    shipment.c.group_id == transit_changed.c.group_id + 0,
                    shipment.c.side == SHIPMENT,
                    shipment.c.rank >= transit_changed.c.from_rank,
                ),
            )
            .join(shipment_event, shipment_event.c.seq == shipment.c.seq)
            .outerjoin(
                receipt,
                and_(
                    receipt.c.group_id == shipment.c.group_id,
                    receipt.c.side == RECEIPT,
                    receipt.c.rank == shipment.c.rank,
                ),
            )
            .outerjoin(receipt_event, receipt_event.c.seq == receipt.c.seq)
        )
        # Exact inequality: a candidate only; the report's tolerance is applied when reading.
        .where(or_(receipt.c.seq.is_(None), receipt.c.qty != shipment.c.qty))
    )
    columns = [
        "group_id",
        "rank",
        "seq",
        "ordinal",
        "origin_group_id",
        "shipment_event",
        "shipped_at",
        "shipped_quantity",
        "receipt_event",
        "received_at",
        "received_quantity",
    ]
    connection.execute(insert(transit_candidates).from_select(columns, pairs))


def _add_totals(on_postgresql: bool) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding to a group's shipment total."""
    statement = (postgresql.insert if on_postgresql else sqlite.insert)(transit_totals)
    return statement.on_conflict_do_update(
        index_elements=[transit_totals.c.group_id],
        set_={
            "qty": transit_totals.c.qty + statement.excluded.qty,
            "rows": transit_totals.c.rows + statement.excluded.rows,
        },
    )


# ---- reading ---------------------------------------------------------------------------------------------

MISMATCH_TOLERANCE = 1e-6
"""Relative difference between shipped and received quantity above which a mismatch is reported."""

Pair = tuple[Any, ...]
"""(shipment_event, shipped_at, origin, destination, epc_class, unit, shipped_quantity, receipt_event,
received_at, received_quantity): a transit row of the reference, as a tuple (``_FIELDS``)."""
_FIELDS = (
    "shipment_event",
    "shipped_at",
    "origin",
    "destination",
    "epc_class",
    "unit",
    "shipped_quantity",
    "receipt_event",
    "received_at",
    "received_quantity",
)


def transit_issue(pair: Pair, as_of: dt.datetime, days: float) -> TransitIssue | None:
    """The issue a transit pair makes as of ``as_of`` (naive UTC), if any: a shipment without receipt
    shipped more than ``days`` days before ``as_of``, or a receipt whose quantity differs (relative
    tolerance :data:`MISMATCH_TOLERANCE`). :func:`vigichem.ledger.balance.transit_issues` applies it."""
    return _issue(as_of, days, *pair)


def _issue(
    as_of: dt.datetime,
    days: float,
    event: str,
    shipped_at: dt.datetime,
    origin: str | None,
    destination: str,
    epc_class: str,
    unit: str,
    shipped: float,
    receipt: str | None,
    received_at: dt.datetime | None,
    received: float | None,
) -> TransitIssue | None:
    """:func:`transit_issue` with the pair's fields as arguments (called once per candidate: tens of
    thousands in a large ledger, so no tuple to build and unpack)."""
    if receipt is None:
        waited = (as_of - shipped_at).total_seconds() / 86400.0
        if waited <= days:
            return None
        return new_transit_issue(
            "not_received", epc_class, origin, destination, shipped_at, shipped, unit, event,
            None, None, None, round(waited, 3),
        )  # fmt: skip
    assert received_at is not None and received is not None  # a receipt has both
    if abs(shipped - received) <= MISMATCH_TOLERANCE * max(1.0, abs(shipped)):
        return None
    return new_transit_issue(
        "quantity_mismatch", epc_class, origin, destination, shipped_at, shipped, unit, event,
        received_at, received, receipt, round((received_at - shipped_at).total_seconds() / 86400.0, 3),
    )  # fmt: skip


def _pair(*fields: Any) -> Pair:
    return fields


def rollup_transit_rows(
    connection: Connection, filters: Filters, withdrawn: Sequence[int]
) -> list[dict[str, Any]]:
    """The rows of :func:`~vigichem.ledger.balance_sql.transit_rows` that can be a transit issue.

    That is every row of a group that disagrees whose shipment has no receipt of its rank or a receipt of
    another quantity, in the reference's order (shipping time, shipment event, then capture order); the
    rows with equal quantities, which :func:`vigichem.ledger.balance.transit_issues` never reports, are
    left out. ``withdrawn``: the ``seq`` of the events error declarations withdrew.

    Precondition (:func:`vigichem.ledger.balance_rollup.rollup_covers`): no event is later than
    ``filters.as_of``; ``filters.since`` is not supported. Events not rolled up yet are not seen.
    """
    found = _pairs(connection, filters, withdrawn, group_keys(connection), _pair)
    return [dict(zip(_FIELDS, pair, strict=True)) for pair in found]


def rollup_transit_issues(
    connection: Connection,
    filters: Filters,
    withdrawn: Sequence[int],
    as_of: dt.datetime,
    days: float,
    groups: Groups | None = None,
) -> list[TransitIssue]:
    """``transit_issues(rollup_transit_rows(...), as_of, days)``, each issue made straight from its
    candidate row (no intermediate tuple or dict).

    ``groups``: :func:`~vigichem.ledger.balance_tables.group_keys` (all of them), when the caller has
    read them in the same snapshot.
    """
    make = functools.partial(_issue, as_of, days)
    return _pairs(connection, filters, withdrawn, group_keys(connection) if groups is None else groups, make)


def _pairs(
    connection: Connection,
    filters: Filters,
    withdrawn: Sequence[int],
    groups: Groups,
    make: Callable[..., Any],
) -> list[Any]:
    """``make(*pair)`` for each candidate pair (see :func:`rollup_transit_rows`) but where it answers
    None, sorted as the reference sorts its rows."""
    if filters.since is not None:
        raise ValueError("the roll-up answers balances from the start of the ledger only")
    if filters.site is not None:
        # Only that site's shipments are ranked (receipts are not confined): pair again in Python.
        origins = [group_id for group_id, key in groups.items() if key[0] == filters.site]
        concerned = _distinct_groups(
            connection, transit_rows.c.origin_group_id, origins, transit_rows.c.side == SHIPMENT
        )
        found = _paired_again(connection, groups, concerned, set(withdrawn), set(origins), make)
    else:
        touched = set(_distinct_groups(connection, transit_rows.c.seq, withdrawn))
        found = _stored(connection, groups, touched, make)
        found += _paired_again(connection, groups, sorted(touched), set(withdrawn), None, make)
    # The reference orders by (shipping time, seq, ordinal), then sorts by (shipping time, shipment event).
    found.sort(key=_first)
    return [item for _, item in found]


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


def _distinct_groups(connection: Connection, column: Any, values: Sequence[int], *where: Any) -> list[int]:
    """The transit groups of the rows whose ``column`` is one of ``values`` (IN lists of bounded size)."""
    found: set[int] = set()
    for index in range(0, len(values), _CHUNK):
        chunk = list(values[index : index + _CHUNK])
        query = select(transit_rows.c.group_id).where(column.in_(chunk), *where).distinct()
        found.update(int(group_id) for group_id in connection.scalars(query))
    return sorted(found)


def _open_groups(connection: Connection) -> set[int]:
    """Groups whose shipments and receipts disagree in number or total (rounded as the reference)."""
    received_query = select(balance_totals.c.group_id, balance_totals.c.rows, balance_totals.c.qty).where(
        balance_totals.c.category == "received"
    )
    received = {
        int(group_id): (int(rows), round(float(qty), 6))
        for group_id, rows, qty in connection.execute(received_query)
    }
    shipped_query = select(transit_totals.c.group_id, transit_totals.c.rows, transit_totals.c.qty)
    return {
        int(group_id)
        for group_id, rows, qty in connection.execute(shipped_query)
        if int(rows) > 0 and received.get(int(group_id)) != (int(rows), round(float(qty), 6))
    }


def _stored(
    connection: Connection, groups: Groups, touched: set[int], make: Callable[..., Any]
) -> list[tuple[Any, Any]]:
    """(sort key, ``make(*pair)``) of the stored candidates of the groups that disagree (see
    :func:`_open_groups`), but the ``touched``; pairs for which ``make`` answers None are left out."""
    wanted = _open_groups(connection) - touched
    if not wanted:
        return []
    columns = transit_candidates.c
    query = select(
        columns.group_id,
        columns.seq,
        columns.ordinal,
        columns.origin_group_id,
        columns.shipment_event,
        columns.shipped_at,
        columns.shipped_quantity,
        columns.receipt_event,
        columns.received_at,
        columns.received_quantity,
    )
    found: list[tuple[Any, Any]] = []
    append = found.append
    # Plain tuples, unpacked, one call per row: tens of thousands of candidates in a large ledger.
    for group_id, seq, ordinal, origin, event, at, qty, receipt, received_at, received in connection.execute(
        query
    ):
        if group_id not in wanted:
            continue
        destination, epc_class, unit = groups[group_id]
        origin_site = None if origin is None else groups[origin][0]
        item = make(event, at, origin_site, destination, epc_class, unit, qty, receipt, received_at, received)
        if item is not None:
            append(((at, event, seq, ordinal), item))
    return found


def _paired_again(
    connection: Connection,
    groups: Groups,
    concerned: Sequence[int],
    withdrawn: set[int],
    origins: set[int] | None,
    make: Callable[..., Any],
) -> list[tuple[Any, Any]]:
    """The reference's pairing, in Python, of the ``concerned`` groups from their stored rows: (sort key,
    ``make(*pair)``) as :func:`_stored`.

    Withdrawn rows are left out; with ``origins``, only the shipments from those origin groups count.
    """
    sides: dict[int, tuple[list[Any], list[Any]]] = {}
    for index in range(0, len(concerned), _CHUNK):
        chunk = list(concerned[index : index + _CHUNK])
        query = (
            select(
                transit_rows.c.seq,
                transit_rows.c.ordinal,
                transit_rows.c.side,
                transit_rows.c.group_id,
                transit_rows.c.origin_group_id,
                transit_rows.c.event_time,
                transit_rows.c.qty,
                events.c.hash_id,
            )
            .select_from(transit_rows.join(events, events.c.seq == transit_rows.c.seq))
            .where(transit_rows.c.group_id.in_(chunk))
        )
        for r in connection.execute(query):
            if r.seq in withdrawn:
                continue
            if r.side == SHIPMENT and origins is not None and r.origin_group_id not in origins:
                continue
            sides.setdefault(int(r.group_id), ([], []))[0 if r.side == SHIPMENT else 1].append(r)
    found = []
    for group_id, (shipments, receipts) in sides.items():
        if not shipments or _summary(shipments) == _summary(receipts):
            continue  # nothing shipped there, or reconciled as a whole
        shipments.sort(key=_order)
        receipts.sort(key=_order)
        destination, epc_class, unit = groups[group_id]
        for rank, shipped in enumerate(shipments):
            received = receipts[rank] if rank < len(receipts) else None
            if received is not None and received.qty == shipped.qty:
                continue  # equal quantities: never an issue
            origin = None if shipped.origin_group_id is None else groups[shipped.origin_group_id][0]
            item = make(
                shipped.hash_id,
                shipped.event_time,
                origin,
                destination,
                epc_class,
                unit,
                float(shipped.qty),
                received.hash_id if received else None,
                received.event_time if received else None,
                float(received.qty) if received else None,
            )
            if item is not None:
                found.append(((shipped.event_time, shipped.hash_id, shipped.seq, shipped.ordinal), item))
    return found


def _order(row: Any) -> tuple[Any, ...]:
    return (row.event_time, row.seq, row.ordinal)


def _summary(rows: Iterable[Any]) -> tuple[int, float]:
    """Number and total (exact sum, rounded to 6 decimals as the reference's grouped sum)."""
    quantities_ = [float(r.qty) for r in rows]
    return len(quantities_), round(math.fsum(quantities_), 6)
