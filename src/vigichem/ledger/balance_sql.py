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


def _category() -> ColumnElement[Any]:
    return case(*[(rule, literal(name)) for name, rule in CATEGORY_RULES.items()], else_=literal(None))


def _relevant() -> ColumnElement[bool]:
    return or_(TRANSFORMATION, events.c.biz_step.in_((*MOVEMENT_STEPS, "cycle_counting")))


def lot_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """One row per (site, epc_class, unit): sums per category, the last count and the book stock then."""
    movement = (
        select(
            SITE.label("site"),
            quantities.c.epc_class.label("epc_class"),
            UNIT.label("unit"),
            events.c.event_time.label("event_time"),
            events.c.seq.label("seq"),
            _category().label("category"),
            cast(QUANTITY, Float).label("qty"),
        )
        .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
        .where(_relevant(), QUANTITY.is_not(None), *filters.conditions())
        .subquery("movement")
    )
    ranked = (
        select(
            movement.c.site,
            movement.c.epc_class,
            movement.c.unit,
            movement.c.event_time,
            movement.c.qty,
            func.row_number()
            .over(
                partition_by=(movement.c.site, movement.c.epc_class, movement.c.unit),
                order_by=(movement.c.event_time.desc(), movement.c.seq.desc()),
            )
            .label("rank"),
        )
        .where(movement.c.category == "counted")
        .subquery("ranked")
    )
    last_count = select(ranked).where(ranked.c.rank == 1).subquery("last_count")
    signed = case(
        *[(movement.c.category == name, movement.c.qty * sign) for name, sign in SIGN.items()], else_=0.0
    )
    sums = [
        func.sum(case((movement.c.category == name, movement.c.qty), else_=0.0)).label(name)
        for name in SIGN
        if name != "counted"
    ]
    query = (
        select(
            movement.c.site,
            movement.c.epc_class,
            movement.c.unit,
            *sums,
            func.max(last_count.c.qty).label("counted"),
            func.max(last_count.c.event_time).label("counted_at"),
            func.sum(case((movement.c.event_time <= last_count.c.event_time, signed), else_=0.0)).label(
                "expected_at_count"
            ),
        )
        .select_from(
            movement.outerjoin(
                last_count,
                and_(
                    last_count.c.site == movement.c.site,
                    last_count.c.epc_class == movement.c.epc_class,
                    last_count.c.unit == movement.c.unit,
                ),
            )
        )
        .where(movement.c.category.is_not(None), movement.c.site.is_not(None))
        .group_by(movement.c.site, movement.c.epc_class, movement.c.unit)
        .order_by(movement.c.site, movement.c.epc_class, movement.c.unit)
    )
    return [dict(row._mapping) for row in connection.execute(query)]


def transit_rows(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Shipments with a destination location, each paired with the receipt of the same rank.

    Shipments to a destination and receipts at that site are ranked per (destination, epcClass, unit) by
    time; the n-th shipment pairs with the n-th receipt (first in, first out). Unpaired shipments have
    null receipt columns.
    """
    destination = (
        select(sources.c.seq, func.min(sources.c.id).label("destination"))
        .where(sources.c.kind == "destination", sources.c.type == "location")
        .group_by(sources.c.seq)
        .subquery("destination")
    )
    shipments = (
        select(
            events.c.seq,
            events.c.hash_id,
            events.c.event_time,
            SITE.label("origin"),
            destination.c.destination,
            quantities.c.epc_class,
            UNIT.label("unit"),
            cast(QUANTITY, Float).label("qty"),
            func.row_number()
            .over(
                partition_by=(destination.c.destination, quantities.c.epc_class, UNIT),
                order_by=(events.c.event_time, events.c.seq, quantities.c.ordinal),
            )
            .label("rank"),
        )
        .select_from(
            quantities.join(events, events.c.seq == quantities.c.seq).join(
                destination, destination.c.seq == events.c.seq
            )
        )
        .where(CATEGORY_RULES["shipped"], QUANTITY.is_not(None), *filters.conditions())
        .subquery("shipments")
    )
    receipts = (
        select(
            events.c.hash_id,
            events.c.event_time,
            SITE.label("site"),
            quantities.c.epc_class,
            UNIT.label("unit"),
            cast(QUANTITY, Float).label("qty"),
            func.row_number()
            .over(
                partition_by=(SITE, quantities.c.epc_class, UNIT),
                order_by=(events.c.event_time, events.c.seq, quantities.c.ordinal),
            )
            .label("rank"),
        )
        .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
        .where(CATEGORY_RULES["received"], QUANTITY.is_not(None), *_without_site(filters).conditions())
        .subquery("receipts")
    )
    query = (
        select(
            shipments.c.hash_id.label("shipment_event"),
            shipments.c.event_time.label("shipped_at"),
            shipments.c.origin,
            shipments.c.destination,
            shipments.c.epc_class,
            shipments.c.unit,
            shipments.c.qty.label("shipped_quantity"),
            receipts.c.hash_id.label("receipt_event"),
            receipts.c.event_time.label("received_at"),
            receipts.c.qty.label("received_quantity"),
        )
        .select_from(
            shipments.outerjoin(
                receipts,
                and_(
                    receipts.c.site == shipments.c.destination,
                    receipts.c.epc_class == shipments.c.epc_class,
                    receipts.c.unit == shipments.c.unit,
                    receipts.c.rank == shipments.c.rank,
                ),
            )
        )
        .order_by(shipments.c.event_time, shipments.c.hash_id)
    )
    return [dict(row._mapping) for row in connection.execute(query)]


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
    category = _category()
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
    "cwc_rows",
    "declared_errors",
    "lot_rows",
    "transit_rows",
]
