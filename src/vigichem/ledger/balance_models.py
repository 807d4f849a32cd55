"""Typed results of the mass balance, the transit check and the CWC declaration aggregates."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class Movements:
    """Quantities moved in one unit. ``expected`` is the book stock: in minus everything that left."""

    produced: float = 0.0
    received: float = 0.0
    shipped: float = 0.0
    sold: float = 0.0
    consumed: float = 0.0
    destroyed: float = 0.0
    counted: float | None = None  # the last cycle count (sum over the counted lots for a substance)
    counted_at: dt.datetime | None = None
    expected_at_count: float | None = None  # book stock as of the last count (only where counted)

    @property
    def quantity_in(self) -> float:
        """Produced plus received."""
        return self.produced + self.received

    @property
    def quantity_out(self) -> float:
        """Shipped plus sold."""
        return self.shipped + self.sold

    @property
    def expected(self) -> float:
        """Book stock: in − out − consumed − destroyed."""
        return self.quantity_in - self.quantity_out - self.consumed - self.destroyed

    @property
    def discrepancy(self) -> float | None:
        """Counted minus book stock at the time of the count (negative: missing); None when never counted."""
        if self.counted is None or self.expected_at_count is None:
            return None
        return self.counted - self.expected_at_count

    def add(self, other: Movements, factor: float = 1.0) -> None:
        """Add ``other`` scaled by ``factor`` (e.g. a mass fraction) to this one."""
        self.produced += other.produced * factor
        self.received += other.received * factor
        self.shipped += other.shipped * factor
        self.sold += other.sold * factor
        self.consumed += other.consumed * factor
        self.destroyed += other.destroyed * factor
        if other.counted is not None and other.expected_at_count is not None:
            self.counted = (self.counted or 0.0) + other.counted * factor
            self.expected_at_count = (self.expected_at_count or 0.0) + other.expected_at_count * factor
            if other.counted_at is not None and (
                self.counted_at is None or other.counted_at > self.counted_at
            ):
                self.counted_at = other.counted_at

    def as_dict(self) -> dict[str, Any]:
        """The figures, with the derived ones (in, out, expected, discrepancy)."""
        return {
            "produced": self.produced,
            "received": self.received,
            "in": self.quantity_in,
            "shipped": self.shipped,
            "sold": self.sold,
            "out": self.quantity_out,
            "consumed": self.consumed,
            "destroyed": self.destroyed,
            "expected": self.expected,
            "counted": self.counted,
            "counted_at": self.counted_at.isoformat() if self.counted_at else None,
            "expected_at_count": self.expected_at_count,
            "discrepancy": self.discrepancy,
        }


@dataclass(slots=True)
class LotBalance:
    """Balance of one product lot at one site, in one unit (``kg``, ``L`` or the unit as captured)."""

    site: str  # the site's location URI as in events
    site_id: str | None  # the registered site, when known
    product_id: str | None  # the registered product, when known
    product_key: str | None  # GTIN-14 or local:<id>, from the epcClass
    lot: str | None
    epc_class: str
    unit: str
    movements: Movements = field(default_factory=Movements)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        base = {k: v for k, v in asdict(self).items() if k != "movements"}
        return {**base, **self.movements.as_dict()}


@dataclass(slots=True)
class SubstanceBalance:
    """Balance of one substance at one site, in kg of substance (through the products' composition)."""

    site: str
    site_id: str | None
    substance: str  # CAS number when resolved, else the name or the query as registered
    name: str | None
    movements: Movements = field(default_factory=Movements)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "site": self.site,
            "site_id": self.site_id,
            "substance": self.substance,
            "name": self.name,
            "unit": "kg",
            **self.movements.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class TransitIssue:
    """A shipment not received within the allowed days, or received with a different quantity."""

    kind: Literal["not_received", "quantity_mismatch"]
    epc_class: str
    origin: str | None
    destination: str
    shipped_at: dt.datetime
    shipped_quantity: float
    unit: str
    shipment_event: str
    received_at: dt.datetime | None = None
    received_quantity: float | None = None
    receipt_event: str | None = None
    days_in_transit: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        for key in ("shipped_at", "received_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


_new = object.__new__
(
    _set_kind,
    _set_epc_class,
    _set_origin,
    _set_destination,
    _set_shipped_at,
    _set_shipped_quantity,
    _set_unit,
    _set_shipment_event,
    _set_received_at,
    _set_received_quantity,
    _set_receipt_event,
    _set_days_in_transit,
) = (getattr(TransitIssue, name).__set__ for name in TransitIssue.__slots__)


def new_transit_issue(
    kind: Literal["not_received", "quantity_mismatch"],
    epc_class: str,
    origin: str | None,
    destination: str,
    shipped_at: dt.datetime,
    shipped_quantity: float,
    unit: str,
    shipment_event: str,
    received_at: dt.datetime | None,
    received_quantity: float | None,
    receipt_event: str | None,
    days_in_transit: float | None,
) -> TransitIssue:
    """``TransitIssue(...)`` (every field given, in order), made in half the time.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` by name; this sets
    the slots through their descriptors, as unpickling does. The balance of a large ledger makes tens of
    thousands of issues (44,000 in the 1M-event benchmark); ``tests/ledger/test_balance_transit.py``
    checks that both ways give equal issues.
    """
    issue = _new(TransitIssue)
    _set_kind(issue, kind)
    _set_epc_class(issue, epc_class)
    _set_origin(issue, origin)
    _set_destination(issue, destination)
    _set_shipped_at(issue, shipped_at)
    _set_shipped_quantity(issue, shipped_quantity)
    _set_unit(issue, unit)
    _set_shipment_event(issue, shipment_event)
    _set_received_at(issue, received_at)
    _set_received_quantity(issue, received_quantity)
    _set_receipt_event(issue, receipt_event)
    _set_days_in_transit(issue, days_in_transit)
    return issue


@dataclass(frozen=True, slots=True)
class Threshold:
    """A declaration threshold of the knowledge base, and whether the aggregate exceeds it."""

    activity: str  # produced, processed, consumed, imported, exported
    value: float
    unit: str  # kg or L
    status: str
    source: str
    exceeded: bool


@dataclass(slots=True)
class CwcAggregate:
    """What one facility did with one scheduled chemical in one calendar year (kg of chemical)."""

    site: str
    site_id: str | None
    year: int
    substance: str
    name: str | None
    schedule: str  # the list's short name, e.g. "CWC Schedule 2"
    entry: str
    produced: float = 0.0
    processed: float = 0.0
    consumed: float = 0.0
    imported: float = 0.0
    exported: float = 0.0
    thresholds: list[Threshold] = field(default_factory=list)

    @property
    def declarable(self) -> bool:
        """True when any threshold is exceeded."""
        return any(t.exceeded for t in self.thresholds)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["declarable"] = self.declarable
        return out


@dataclass(slots=True)
class BalanceReport:
    """Everything ``vigichem balance`` shows."""

    as_of: dt.datetime
    lots: list[LotBalance]
    substances: list[SubstanceBalance]
    transit: list[TransitIssue]
    cwc: list[CwcAggregate]
    transit_days: float
    excluded_events: int  # events left out because an error declaration withdrew them
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``vigichem balance --format json``)."""
        return {
            "as_of": self.as_of.isoformat(),
            "transit_days": self.transit_days,
            "excluded_events": self.excluded_events,
            "lots": [row.as_dict() for row in self.lots],
            "substances": [row.as_dict() for row in self.substances],
            "transit": [issue.as_dict() for issue in self.transit],
            "cwc": [row.as_dict() for row in self.cwc],
            "notes": list(self.notes),
        }


__all__ = [
    "BalanceReport",
    "CwcAggregate",
    "LotBalance",
    "Movements",
    "SubstanceBalance",
    "Threshold",
    "TransitIssue",
    "new_transit_issue",
]
