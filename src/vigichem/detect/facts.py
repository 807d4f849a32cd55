"""What the rules read of one ledger event: :class:`EventFacts`, extracted with the master data.

An EPCIS event says "3 items of epcClass X sold at shop Y to party Z, paid in cash". The rules want
"2.5 kg of hydrogen peroxide (regulated, EU 2019/1148 Annex I) sold by shop Y to party Z". The
:class:`Catalogue` maps epcClasses to registered products (GTIN or local id) and spreads each quantity over
the product's composition. A product that is not registered falls back to the event's ``vc:concentration``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine

from vigichem.errors import InvalidDocument, VigichemError
from vigichem.ledger import extensions as ext
from vigichem.ledger.gs1 import parse_epc_class
from vigichem.ledger.masterdata_models import RegisteredProduct

__all__ = [
    "Catalogue",
    "EventFacts",
    "Line",
    "SubstanceAmount",
    "book_unit",
    "event_facts",
    "facts_from_row",
    "facts_or_reason",
    "facts_row",
    "parse_event_time",
]

SALE_STEPS = frozenset({"retail_selling", "dispensing"})


@dataclass(frozen=True, slots=True)
class SubstanceAmount:
    """One substance of a line: key (CAS when known), name, % w/w, kg (None: not convertible)."""

    key: str
    name: str | None
    percent: float
    kg: float | None
    regulated: bool  # a legal (non-watch) finding at registration, in any jurisdiction screened
    flagged: bool = False  # any finding at registration, watch included (worth screening as of a date)


@dataclass(frozen=True, slots=True)
class Line:
    """One quantity element of an event: the product (when registered), the amount and its substances."""

    epc_class: str
    product_id: str | None
    quantity: float
    uom: str | None
    kg: float | None
    substances: tuple[SubstanceAmount, ...]


@dataclass(frozen=True, slots=True)
class EventFacts:
    """An event as the rules see it. ``kind``: sale, shipment, receipt, count, or other."""

    hash_id: str
    event_time: dt.datetime
    kind: str
    site: str | None
    party_ref: str | None
    payment: str | None
    id_verified: bool | None
    customer_type: str | None
    delivery_type: str | None
    delivery_ref: str | None
    stated_end_use: str | None
    lines: tuple[Line, ...]
    destination: str | None = None
    book: tuple[tuple[str, str, float], ...] = ()  # (epcClass, unit, signed quantity) moved at ``site``
    # regulated_kg() once computed: the state and five rules ask for it per sale.
    _regulated: dict[str, float] | None = field(default=None, compare=False, repr=False)

    def regulated_kg(self) -> dict[str, float]:
        """kg per regulated substance key over all lines (substances whose mass is unknown are left out).

        The dict is computed once and shared: callers read it and never change it.
        """
        if self._regulated is not None:
            return self._regulated
        totals: dict[str, float] = {}
        for line in self.lines:
            for substance in line.substances:
                if substance.regulated and substance.kg is not None:
                    totals[substance.key] = totals.get(substance.key, 0.0) + substance.kg
        object.__setattr__(self, "_regulated", totals)  # a cache, not a change of the facts
        return totals

    def substance_names(self) -> dict[str, str]:
        """Display names per substance key."""
        return {s.key: s.name or s.key for line in self.lines for s in line.substances}


def parse_event_time(value: Any) -> dt.datetime:
    """An EPCIS ``eventTime`` as an aware UTC datetime; ``InvalidDocument`` when it is not one."""
    if not isinstance(value, str):
        raise InvalidDocument(f"eventTime must be an ISO 8601 date-time text, got {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDocument(f"eventTime {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidDocument(f"eventTime {value!r} has no time zone offset")
    return moment.astimezone(dt.UTC)


class Catalogue:
    """Registered products by GTIN and by local id, loaded from the master data (:meth:`refresh`)."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine
        self.by_gtin: dict[str, RegisteredProduct] = {}
        self.by_id: dict[str, RegisteredProduct] = {}
        self._memo: dict[str, RegisteredProduct | None] = {}
        # Lines of registered products by (epcClass, quantity, uom): a few thousand shapes recur in a
        # year of sales, and a Line is immutable, so events share them (facts extraction is per event).
        self._lines: dict[tuple[str, float, str | None], Line] = {}
        # Bumped by every add(): a copy of the catalogue in another process (detect/pipeline.py) is
        # current while the version it was taken at is.
        self.version = 0
        self.refresh()

    def refresh(self) -> None:
        """Reload the master data (after ``vigichem masterdata load``)."""
        if self._engine is None:
            return
        from vigichem.ledger.masterdata import MasterData

        products = MasterData(self._engine).products()
        self.add(products)

    def add(self, products: list[RegisteredProduct]) -> None:
        """Add products (tests and the simulator can build a catalogue without a database)."""
        self._memo.clear()
        self._lines.clear()
        self.version += 1
        for product in products:
            self.by_id[product.id] = product
            if product.gtin:
                self.by_gtin[product.gtin] = product

    def product_of(self, epc_class: str) -> RegisteredProduct | None:
        """The registered product an epcClass names, or ``None`` (memoised: classes repeat a lot)."""
        if epc_class in self._memo:
            return self._memo[epc_class]
        if len(self._memo) > 100_000:
            self._memo.clear()
        found = self._lookup(epc_class)
        self._memo[epc_class] = found
        return found

    def line_of(self, epc_class: str, quantity: float, uom: str | None) -> Line | None:
        """The line of a registered product's quantity (memoised), or ``None`` when the class names none
        (its substances then come from the event's declared concentration)."""
        key = (epc_class, quantity, uom)
        line = self._lines.get(key)
        if line is not None:
            return line
        product = self.product_of(epc_class)
        if product is None:
            return None
        if len(self._lines) > 100_000:
            self._lines.clear()
        kg = _mass_kg(product, quantity, uom)
        line = Line(epc_class, product.id, quantity, uom, kg, _substances(product, kg, None))
        self._lines[key] = line
        return line

    def _lookup(self, epc_class: str) -> RegisteredProduct | None:
        parsed = parse_epc_class(epc_class)
        if parsed is None:
            return None
        if parsed.product_key.startswith("local:"):
            return self.by_id.get(parsed.product_key.removeprefix("local:"))
        return self.by_gtin.get(parsed.product_key)


def _kind(event: Mapping[str, Any]) -> str:
    step = str(event.get("bizStep") or "").removeprefix("urn:epcglobal:cbv:bizstep:")
    step = step.rsplit("/", 1)[-1]
    if event.get("type") != "ObjectEvent" or event.get("action") == "DELETE":
        return "other"
    if step in SALE_STEPS:
        return "sale"
    return {"shipping": "shipment", "receiving": "receipt", "cycle_counting": "count"}.get(step, "other")


def _mass_kg(product: RegisteredProduct | None, quantity: float, uom: str | None) -> float | None:
    from vigichem.ledger.units import UNITS, to_base

    if uom is None:
        if product is None or product.net_content is None:
            return None
        quantity, uom = quantity * product.net_content.value, product.net_content.uom
    if uom not in UNITS:
        return None
    value, base = to_base(quantity, uom)
    if base == "kg":
        return float(value)
    if product is not None and product.density_kg_per_l:
        return float(value) * product.density_kg_per_l
    # No registered density: 1 kg per litre, the order of magnitude of the aqueous solutions sold (a rule
    # compares amounts with levels and medians, so the approximation shifts nothing by much).
    return float(value)


_IGNORED, _OTHER_PREFIX = 0, 1
# How each event key reads as an extension: the field name, _IGNORED, or _OTHER_PREFIX (a prefix that the
# context may bind to the namespace). Keys recur in every event: each is classified once (bounded).
_KEY_KINDS: dict[str, str | int] = {}


def _key_kind(key: str) -> str | int:
    if key.startswith("vc:"):
        return key[3:]
    if key.startswith(ext.NAMESPACE):
        return key[len(ext.NAMESPACE) :]
    if ":" in key and not key.startswith(("http:", "https:", "urn:")):
        return _OTHER_PREFIX
    return _IGNORED


def _extensions(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The vigichem extension fields of an event in one pass (``vc:`` or the full IRI; other prefixes bound
    to the namespace are looked up through :func:`vigichem.ledger.extensions.extension_value`)."""
    fields: dict[str, Any] = {}
    other_prefix = False
    kinds = _KEY_KINDS
    for key, value in event.items():
        kind = kinds.get(key)
        if kind is None:
            kind = _key_kind(key)
            if len(kinds) < 10_000:
                kinds[key] = kind
        if isinstance(kind, str):
            fields[kind] = value
        elif kind == _OTHER_PREFIX:
            other_prefix = True
    if other_prefix:
        for field in ext.FIELDS:
            if field not in fields and (value := ext.extension_value(event, field, context)) is not None:
                fields[field] = value
    return fields


def _substances(
    product: RegisteredProduct | None, kg: float | None, declared: Any
) -> tuple[SubstanceAmount, ...]:
    if product is not None:
        return tuple(
            SubstanceAmount(
                key=c.key,
                name=c.name,
                percent=c.percent,
                kg=None if kg is None else kg * c.percent / 100.0,
                regulated=any(f.status != "watch" for f in c.findings),
                flagged=bool(c.findings),
            )
            for c in product.components
        )
    if not isinstance(declared, list):
        return ()
    out = []
    for item in declared:
        if isinstance(item, Mapping) and isinstance(item.get("percent"), int | float):
            percent = float(item["percent"])
            key = str(item.get("substance"))
            # Not screened here (that would cost a screening per event): unregistered products count as
            # regulated only through the designer-precursor rule, which screens them as of the sale date.
            amount = None if kg is None else kg * percent / 100
            out.append(SubstanceAmount(key, None, percent, amount, regulated=False, flagged=True))
    return tuple(out)


_BOOK_SIGNS = {
    "commissioning": 1.0,
    "receiving": 1.0,
    "shipping": -1.0,
    "retail_selling": -1.0,
    "dispensing": -1.0,
}


@lru_cache(maxsize=8192)  # a few hundred (quantity, uom) pairs recur across a year of events
def book_unit(quantity: float, uom: str | None) -> tuple[str, float]:
    """A quantity in the balance's unit: kg or L for a mass or volume code, else as counted (``EA``)."""
    from vigichem.ledger.units import UNITS, to_base

    if uom is None or uom not in UNITS:
        return uom or "EA", quantity
    value, base = to_base(quantity, uom)
    return str(base), float(value)


def _elements(event: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = event.get(key)
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _book_sign(event: Mapping[str, Any]) -> float:
    step = str(event.get("bizStep") or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    action = event.get("action")
    if action == "DELETE":
        return -1.0 if step == "destroying" else 0.0
    if step == "commissioning":
        return 1.0 if action == "ADD" else 0.0
    return _BOOK_SIGNS.get(step, 0.0)


def _book(event: Mapping[str, Any]) -> tuple[tuple[str, str, float], ...]:
    """The movements of an event for the running book stock, counted as the ledger's balance counts them."""
    signed: list[tuple[Mapping[str, Any], float]] = []
    if event.get("type") == "TransformationEvent":
        signed += [(e, -1.0) for e in _elements(event, "inputQuantityList")]
        signed += [(e, 1.0) for e in _elements(event, "outputQuantityList")]
    elif event.get("type") == "ObjectEvent" and (sign := _book_sign(event)):
        signed += [(e, sign) for e in _elements(event, "quantityList")]
    out = []
    for element, sign in signed:
        epc_class, quantity, uom = element.get("epcClass"), element.get("quantity"), element.get("uom")
        if (
            isinstance(epc_class, str)
            and isinstance(quantity, int | float)
            and not isinstance(quantity, bool)
        ):
            unit, value = book_unit(float(quantity), uom if isinstance(uom, str) else None)
            out.append((epc_class, unit, sign * value))
    return tuple(out)


def _location(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _destination(event: Mapping[str, Any]) -> str | None:
    items = event.get("destinationList")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("type", "")).endswith("location"):
            return str(item.get("destination"))
    return None


# (type, action, bizStep) -> (kind, book sign of an ObjectEvent): a handful of shapes recur (bounded).
_SHAPES: dict[tuple[Any, Any, Any], tuple[str, float]] = {}


def _shape(event: Mapping[str, Any]) -> tuple[str, float]:
    """:func:`_kind` and :func:`_book_sign` of an event, memoised on the three fields they read."""
    key = (event.get("type"), event.get("action"), event.get("bizStep"))
    try:
        found = _SHAPES.get(key)
    except TypeError:  # an unhashable value (a list as bizStep): not memoised
        return _kind(event), _book_sign(event)
    if found is None:
        found = (_kind(event), _book_sign(event))
        if len(_SHAPES) < 1_000:
            _SHAPES[key] = found
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def event_facts(
    hash_id: str, event: Mapping[str, Any], catalogue: Catalogue, context: Any = None
) -> EventFacts:
    """Extract the facts of one stored event (``InvalidDocument`` for an event the rules cannot read)."""
    if not (event.__class__ is dict or isinstance(event, Mapping)):
        raise InvalidDocument(f"event {hash_id} is not a JSON object")
    extensions = _extensions(event, context)
    lines: list[Line] = []
    from_quantity_list = bool(event.get("quantityList"))
    raw_quantities = event.get("quantityList") or event.get("inputQuantityList") or []
    if not isinstance(raw_quantities, list):
        raise InvalidDocument(f"event {hash_id}: quantityList is not a list")
    line_of = catalogue.line_of
    for position, element in enumerate(raw_quantities):
        if not (element.__class__ is dict or isinstance(element, Mapping)) or not isinstance(
            epc_class := element.get("epcClass"), str
        ):
            raise InvalidDocument(f"event {hash_id}: quantityList/{position} has no epcClass")
        quantity = element.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            raise InvalidDocument(f"event {hash_id}: quantityList/{position}/quantity is not a number")
        uom = element.get("uom")
        if not isinstance(uom, str):
            uom = None
        line = line_of(epc_class, float(quantity), uom)
        if line is None:  # not registered: the substances declared on the event
            kg = _mass_kg(None, float(quantity), uom)
            substances = _substances(None, kg, extensions.get(ext.CONCENTRATION))
            line = Line(epc_class, None, float(quantity), uom, kg, substances)
        lines.append(line)
    event_time = parse_event_time(event.get("eventTime"))  # before the book: the first error is reported
    kind, sign = _shape(event)
    if event.get("type") == "ObjectEvent" and from_quantity_list:
        # The book moves are the lines themselves (the loop above checked every element of the list).
        book: tuple[tuple[str, str, float], ...] = ()
        if sign:
            book = tuple(
                (line.epc_class, *_signed(book_unit(line.quantity, line.uom), sign)) for line in lines
            )
    else:
        book = _book(event)
    verified = extensions.get(ext.ID_VERIFIED)
    party = extensions.get(ext.CUSTOMER_REF)
    return EventFacts(
        hash_id=hash_id,
        event_time=event_time,
        kind=kind,
        site=_location(event.get("bizLocation")) or _location(event.get("readPoint")),
        party_ref=party if isinstance(party, str) and ext.PARTY_REF_RE.match(party) else None,
        payment=_text(extensions.get(ext.PAYMENT_METHOD)),
        id_verified=verified if isinstance(verified, bool) else None,
        customer_type=_text(extensions.get(ext.CUSTOMER_TYPE)),
        delivery_type=_text(extensions.get(ext.DELIVERY_TYPE)),
        delivery_ref=_text(extensions.get(ext.DELIVERY_REF)),
        stated_end_use=_text(extensions.get(ext.STATED_END_USE)),
        lines=tuple(lines),
        destination=_destination(event),
        book=book,
    )


def facts_or_reason(
    hash_id: str, event: Mapping[str, Any], catalogue: Catalogue, context: Any = None
) -> EventFacts | str:
    """:func:`event_facts`, or the reason a detection run reports when it skips the event.

    Any shape the reader did not foresee (a ``ValueError``, ``KeyError``, ...) is still one bad event: its
    reason names the error. Other exceptions propagate.
    """
    try:
        return event_facts(hash_id, event, catalogue, context)
    except VigichemError as error:
        return error.message
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as error:
        return f"unreadable event: {type(error).__name__}: {error}"


FactsRow = tuple[Any, ...]
"""The fields of an :class:`EventFacts` as a plain tuple (:func:`facts_row`), in declaration order."""

# Every field but the regulated_kg() cache, which a new EventFacts starts without.
_ROW_FIELDS = tuple(name for name in EventFacts.__dataclass_fields__ if name != "_regulated")


def facts_row(facts: EventFacts) -> FactsRow:
    """The facts as a tuple, to send to another process: a tuple of plain values pickles several times
    cheaper than a frozen dataclass (whose unpickling sets each field through ``object.__setattr__``)."""
    return tuple([getattr(facts, name) for name in _ROW_FIELDS])


def facts_from_row(row: FactsRow) -> EventFacts:
    """The :class:`EventFacts` of a :func:`facts_row` tuple (equal to the one it was made from)."""
    return EventFacts(*row)


def _signed(unit_value: tuple[str, float], sign: float) -> tuple[str, float]:
    return unit_value[0], sign * unit_value[1]
