"""The SQL of the mass balance: aggregation over ``ledger_quantities`` joined to ``ledger_events``.

Everything here is one statement per question, run by the database (SQLite or PostgreSQL): the balance of
a million events is grouped in SQL, and Python only sees one row per (site, epcClass, unit). How each
business step counts is the table :data:`CATEGORY_RULES` documents and ``docs/balance.md`` explains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)

from vigichem.ledger.db import documents, events, quantities, sources

SITE = func.coalesce(events.c.biz_location, events.c.read_point)
"""The site of an event: its bizLocation, else its readPoint (documented in docs/balance.md)."""
QUANTITY = func.coalesce(quantities.c.base_quantity, quantities.c.quantity)
UNIT = func.coalesce(quantities.c.base_unit, quantities.c.uom, literal("EA"))
"""kg or L when the unit converts; else the unit as captured; ``EA`` (a count) when there is none."""

OBJECT = events.c.event_type == "ObjectEvent"
TRANSFORMATION = events.c.event_type == "TransformationEvent"
IN_QUANTITY_LIST = quantities.c.role == "quantity"
NOT_DELETE = func.coalesce(events.c.action, literal("")) != "DELETE"

CATEGORY_RULES: dict[str, ColumnElement[bool]] = {
    "produced": or_(
        and_(OBJECT, IN_QUANTITY_LIST, events.c.action == "ADD", events.c.biz_step == "commissioning"),
        and_(TRANSFORMATION, quantities.c.role == "output"),
    ),
    "received": and_(OBJECT, IN_QUANTITY_LIST, NOT_DELETE, events.c.biz_step == "receiving"),
    "shipped": and_(OBJECT, IN_QUANTITY_LIST, NOT_DELETE, events.c.biz_step == "shipping"),
    "sold": and_(
        OBJECT, IN_QUANTITY_LIST, NOT_DELETE, events.c.biz_step.in_(("retail_selling", "dispensing"))
    ),
    "consumed": and_(TRANSFORMATION, quantities.c.role == "input"),
    "destroyed": and_(
        OBJECT, IN_QUANTITY_LIST, events.c.action == "DELETE", events.c.biz_step == "destroying"
    ),
    "counted": and_(
        OBJECT, IN_QUANTITY_LIST, events.c.action == "OBSERVE", events.c.biz_step == "cycle_counting"
    ),
}
"""Which quantity rows count as what. Anything else (other steps, childQuantityList…) is not a movement."""

SIGN = {
    "produced": 1,
    "received": 1,
    "shipped": -1,
    "sold": -1,
    "consumed": -1,
    "destroyed": -1,
    "counted": 0,
}
MOVEMENT_STEPS = ("commissioning", "receiving", "shipping", "retail_selling", "dispensing", "destroying")


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on the events a balance reads."""

    excluded_hash_ids: Sequence[str] = ()
    as_of: dt.datetime | None = None  # naive UTC; events after it are ignored
    since: dt.datetime | None = None  # naive UTC; events before it are ignored (CWC year)
    site: str | None = None  # a location URI

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE conditions on ``ledger_events``."""
        found: list[ColumnElement[bool]] = [events.c.error_declaration == false()]
        if self.excluded_hash_ids:
            found.append(events.c.hash_id.not_in(list(self.excluded_hash_ids)))
        if self.as_of is not None:
            found.append(events.c.event_time <= self.as_of)
        if self.since is not None:
            found.append(events.c.event_time >= self.since)
        if self.site is not None:
            found.append(SITE == self.site)  # noqa: SIM300 - SITE is a column expression
        return found


def category_expression() -> ColumnElement[Any]:
    """The category of a quantity row as SQL (:data:`CATEGORY_RULES` in order; NULL when none applies)."""
    return case(*[(rule, literal(name)) for name, rule in CATEGORY_RULES.items()], else_=literal(None))


def _relevant() -> ColumnElement[bool]:
    return or_(TRANSFORMATION, events.c.biz_step.in_((*MOVEMENT_STEPS, "cycle_counting")))


def category_of(event_type: str, action: str | None, biz_step: str | None, role: str) -> str | None:
    """The category of a quantity row (the Python twin of :data:`CATEGORY_RULES`, for grouped rows)."""
    if event_type == "TransformationEvent":
        return {"output": "produced", "input": "consumed"}.get(role)
    if event_type != "ObjectEvent" or role != "quantity":
        return None
    if biz_step == "commissioning":
        return "produced" if action == "ADD" else None
    if biz_step == "destroying":
        return "destroyed" if action == "DELETE" else None
    if action == "DELETE":
        return None
    if biz_step == "cycle_counting":
        return "counted" if action == "OBSERVE" else None
    return {
        "receiving": "received",
        "shipping": "shipped",
        "retail_selling": "sold",
        "dispensing": "sold",
    }.get(biz_step or "")


def unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column as an expression that no index can serve (steers SQLite's join order)."""
    # ``x || ''`` keeps SQLite from driving a join through the epcClass index (one probe per row of a
    # small derived table, each scanning thousands of rows); PostgreSQL plans it as the same hash join.
    return column.concat("")


_GROUP_KEYS = ("site", "epc_class", "unit")
_STEP_KEYS = ("event_type", "action", "biz_step", "role")


def _step_columns() -> list[ColumnElement[Any]]:
    return [
        events.c.event_type.label("event_type"),
        events.c.action.label("action"),
        events.c.biz_step.label("biz_step"),
        quantities.c.role.label("role"),
    ]


def _grouped(
    connection: Connection, query: Any
) -> tuple[dict[tuple[str, str, str], dict[str, float]], dict[tuple[str, str, str], dict[str, float]]]:
    """Fold rows grouped by site, class, unit and the step columns into sums per category.

    Returns the sums of ``qty`` and of ``qty_before`` (the part up to the group's last count).
    """
    totals: dict[tuple[str, str, str], dict[str, float]] = {}
    before: dict[tuple[str, str, str], dict[str, float]] = {}
    for row in connection.execute(query):
        category = category_of(row.event_type, row.action, row.biz_step, row.role)
        if category is None or category == "counted" or row.site is None:
            continue
        group = (row.site, row.epc_class, row.unit)
        totals.setdefault(group, dict.fromkeys(SIGN, 0.0))[category] += float(row.qty)
        before.setdefault(group, dict.fromkeys(SIGN, 0.0))[category] += float(row.qty_before or 0.0)
    return totals, before


def lot_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """One row per (site, epc_class, unit): sums per category, the last count and the book stock then.

    Two statements: the count events (few), then one pass over the quantities grouped per (site,
    epcClass, unit, step) — left-joined to the small table of last counts so that the same pass also sums
    what moved up to each group's last count; the categories are folded in Python over the grouped rows.
    """
    joined = quantities.join(events, events.c.seq == quantities.c.seq)
    keys = [SITE.label("site"), quantities.c.epc_class.label("epc_class"), UNIT.label("unit")]
    counted = [CATEGORY_RULES["counted"], QUANTITY.is_not(None), *filters.conditions()]
    counts_query = (
        select(*keys, events.c.event_time.label("event_time"), QUANTITY.label("qty"))
        .select_from(joined)
        .where(*counted)
        .order_by(events.c.event_time, events.c.seq)
    )
    last_counts: dict[tuple[str, str, str], tuple[dt.datetime, float]] = {}
    for row in connection.execute(counts_query):
        if row.site is not None:
            last_counts[(row.site, row.epc_class, row.unit)] = (row.event_time, float(row.qty))
    group_by = [
        *[c.element for c in keys],
        events.c.event_type,
        events.c.action,
        events.c.biz_step,
        quantities.c.role,
    ]
    where = [_relevant(), QUANTITY.is_not(None), *filters.conditions()]
    if last_counts:
        last = (
            select(*keys, func.max(events.c.event_time).label("count_time"))
            .select_from(joined)
            .where(*counted)
            .group_by(*[c.element for c in keys])
            .cte("last_count")
        )
        source = joined.outerjoin(
            last,
            and_(
                last.c.site == unindexed(SITE),
                last.c.epc_class == unindexed(quantities.c.epc_class),
                last.c.unit == unindexed(UNIT),
            ),
        )
        up_to_count = func.sum(case((events.c.event_time <= last.c.count_time, QUANTITY), else_=0.0))
    else:
        source, up_to_count = joined, func.sum(literal(0.0))
    query = (
        select(*keys, *_step_columns(), func.sum(QUANTITY).label("qty"), up_to_count.label("qty_before"))
        .select_from(source)
        .where(*where)
        .group_by(*group_by)
    )
    totals, at_count = _grouped(connection, query)
    rows = []
    for group in sorted(set(totals) | set(last_counts)):
        sums = totals.get(group, dict.fromkeys(SIGN, 0.0))
        count = last_counts.get(group)
        before = at_count.get(group, dict.fromkeys(SIGN, 0.0))
        rows.append(
            {
                **dict(zip(_GROUP_KEYS, group, strict=True)),
                **{name: sums[name] for name in SIGN if name != "counted"},
                "counted": count[1] if count else None,
                "counted_at": count[0] if count else None,
                "expected_at_count": sum(before[name] * sign for name, sign in SIGN.items())
                if count
                else None,
            }
        )
    return rows


def transit_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Shipments with a destination location, each paired with the receipt of the same rank.

    Shipments to a destination and receipts at that site are grouped per (destination, epcClass, unit).
    A group whose shipments and receipts agree in number and total quantity is reconciled as a whole (two
    grouped statements). In the other groups each shipment is paired, first in first out, with the
    receipt of the same rank (in time order); unpaired shipments have null receipt columns.
    """
    destination = (
        select(sources.c.seq.label("seq"), func.min(sources.c.id).label("destination"))
        .where(sources.c.kind == "destination", sources.c.type == "location")
        .group_by(sources.c.seq)
        .subquery("destination")
    )
    shipped_from = quantities.join(events, events.c.seq == quantities.c.seq).join(
        destination, destination.c.seq == events.c.seq
    )
    ship_keys = [destination.c.destination, quantities.c.epc_class, UNIT]
    ship_where = [CATEGORY_RULES["shipped"], QUANTITY.is_not(None), *filters.conditions()]
    receipts_from = quantities.join(events, events.c.seq == quantities.c.seq)
    receipt_keys = [SITE, quantities.c.epc_class, UNIT]
    receipt_where = [CATEGORY_RULES["received"], QUANTITY.is_not(None), *_without_site(filters).conditions()]

    def summary(
        source: Any, keys: list[Any], where: list[Any]
    ) -> dict[tuple[str, str, str], tuple[int, float]]:
        query = (
            select(*keys, func.count(), func.sum(QUANTITY)).select_from(source).where(*where).group_by(*keys)
        )
        return {(r[0], r[1], r[2]): (int(r[3]), round(float(r[4]), 6)) for r in connection.execute(query)}

    shipped = summary(shipped_from, ship_keys, ship_where)
    if not shipped:
        return []
    received = summary(receipts_from, receipt_keys, receipt_where)
    open_groups = sorted(group for group, figures in shipped.items() if received.get(group) != figures)
    if not open_groups:
        return []
    # The rows of every shipment and receipt are read (a few columns each) and filtered here: an IN list
    # of thousands of (site, class, unit) tuples plans badly on both databases.
    wanted = set(open_groups)
    ship_rows = [
        row
        for row in connection.execute(
            select(
                *[k.label(n) for k, n in zip(ship_keys, _GROUP_KEYS, strict=True)],
                events.c.hash_id,
                events.c.event_time,
                SITE.label("origin"),
                QUANTITY.label("qty"),
            )
            .select_from(shipped_from)
            .where(*ship_where)
            .order_by(events.c.event_time, events.c.seq, quantities.c.ordinal)
        )
        if (row.site, row.epc_class, row.unit) in wanted
    ]
    receipt_rows = [
        row
        for row in connection.execute(
            select(
                *[k.label(n) for k, n in zip(receipt_keys, _GROUP_KEYS, strict=True)],
                events.c.hash_id,
                events.c.event_time,
                QUANTITY.label("qty"),
            )
            .select_from(receipts_from)
            .where(*receipt_where)
            .order_by(events.c.event_time, events.c.seq, quantities.c.ordinal)
        )
        if (row.site, row.epc_class, row.unit) in wanted
    ]
    pairs = _pair_fifo(ship_rows, receipt_rows)
    return sorted(pairs, key=lambda p: (p["shipped_at"], p["shipment_event"]))


def _pair_fifo(ship_rows: Sequence[Any], receipt_rows: Sequence[Any]) -> list[dict[str, Any]]:
    receipts: dict[tuple[str, str, str], list[Any]] = {}
    for row in receipt_rows:
        receipts.setdefault((row.site, row.epc_class, row.unit), []).append(row)
    taken: dict[tuple[str, str, str], int] = {}
    pairs = []
    for row in ship_rows:
        group = (row.site, row.epc_class, row.unit)
        rank = taken.get(group, 0)
        taken[group] = rank + 1
        candidates = receipts.get(group, [])
        receipt = candidates[rank] if rank < len(candidates) else None
        pairs.append(
            {
                "shipment_event": row.hash_id,
                "shipped_at": row.event_time,
                "origin": row.origin,
                "destination": row.site,
                "epc_class": row.epc_class,
                "unit": row.unit,
                "shipped_quantity": float(row.qty),
                "receipt_event": receipt.hash_id if receipt else None,
                "received_at": receipt.event_time if receipt else None,
                "received_quantity": float(receipt.qty) if receipt else None,
            }
        )
    return pairs


def _without_site(filters: Filters) -> Filters:
    # Receipts happen at the destination, not at the origin a --site filter names.
    return Filters(excluded_hash_ids=filters.excluded_hash_ids, as_of=filters.as_of, since=filters.since)


def cwc_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Rows for the CWC aggregates of a period: per (site, category, epc_class, unit, counterparty).

    Transformation rows keep their event (``seq``) so that processing (the same chemical in and out of
    one transformation) can be told from consumption and production. Receipts carry their source and
    shipments their destination (location, owning party, possessing party) to tell imports and exports.
    """

    def party(kind: str, party_type: str) -> Any:
        return (
            select(func.min(sources.c.id))
            .where(sources.c.seq == events.c.seq, sources.c.kind == kind, sources.c.type == party_type)
            .scalar_subquery()
        )

    receiving = events.c.biz_step == "receiving"
    category = category_expression()
    counterparty = {
        name: case(
            (receiving, party("source", name)),
            (events.c.biz_step == "shipping", party("destination", name)),
            else_=literal(None),
        ).label(f"cp_{name}")
        for name in ("location", "owning_party", "possessing_party")
    }
    # Grouping happens outside the row subquery so that PostgreSQL sees the grouped columns by name.
    row = (
        select(
            SITE.label("site"),
            category.label("category"),
            case((TRANSFORMATION, events.c.seq), else_=literal(None)).label("transformation"),
            quantities.c.epc_class.label("epc_class"),
            UNIT.label("unit"),
            *counterparty.values(),
            cast(QUANTITY, Float).label("qty"),
        )
        .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
        .where(
            or_(TRANSFORMATION, events.c.biz_step.in_(("commissioning", "receiving", "shipping"))),
            QUANTITY.is_not(None),
            *filters.conditions(),
        )
        .subquery("cwc_row")
    )
    keys = [column for column in row.c if column.name != "qty"]
    query = select(*keys, func.sum(row.c.qty).label("qty")).where(row.c.category.is_not(None)).group_by(*keys)
    return [dict(row._mapping) for row in connection.execute(query) if row.category is not None]


def declared_errors(connection: Connection) -> list[tuple[str, str]]:
    """(event JSON, its document's ``@context`` JSON) of every error declaration (few: corrections)."""
    query = (
        select(events.c.event_json, documents.c.context_json)
        .select_from(events.join(documents, documents.c.id == events.c.document_id))
        .where(events.c.error_declaration.is_(True))
        .order_by(events.c.seq)
    )
    return [(row.event_json, row.context_json) for row in connection.execute(query)]


__all__ = [
    "CATEGORY_RULES",
    "MOVEMENT_STEPS",
    "QUANTITY",
    "SIGN",
    "SITE",
    "UNIT",
    "Filters",
    "category_expression",
    "cwc_rows",
    "declared_errors",
    "lot_rows",
    "transit_rows",
    "unindexed",
]
