"""Turn a validated EPCIS event into the rows that index it (events, quantities, EPCs, sources).

The event JSON as captured is the record; these columns exist so that queries, mass balance and detection
do not parse JSON. CBV values are normalised to their bare word (``shipping`` for ``shipping``,
``urn:epcglobal:cbv:bizstep:shipping`` or ``https://ref.gs1.org/cbv/BizStep-shipping``) so that SQL can
compare them; a non-CBV value (a user URI) is kept as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigichem.errors import InvalidDocument, VigichemError
from vigichem.ledger.extensions import party_ref_of
from vigichem.ledger.units import to_base

__all__ = ["IndexedEvent", "cbv_word", "index_event", "parse_event_time"]

# One encoder for every event: json.dumps with options builds a new JSONEncoder on each call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_CBV_PREFIXES = {
    "bizStep": ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    "disposition": ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    "sourceType": ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
}

_QUANTITY_LISTS = (
    ("quantityList", "quantity"),
    ("childQuantityList", "child"),
    ("inputQuantityList", "input"),
    ("outputQuantityList", "output"),
)
_EPC_LISTS = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)


def cbv_word(value: str | None, kind: str) -> str | None:
    """The bare CBV word of a bizStep/disposition/source-type value, or the value itself if not CBV."""
    if value is None:
        return None
    for prefix in _CBV_PREFIXES[kind]:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def parse_event_time(value: str, pointer: str) -> datetime:
    """An ISO 8601 time with offset, as a naive UTC datetime (the ledger stores UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDocument(
            f"{pointer}: {value!r} is not an ISO 8601 date-time",
            details={"errors": [{"path": pointer, "message": "not an ISO 8601 date-time"}]},
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidDocument(
            f"{pointer}: {value!r} has no time-zone offset",
            details={"errors": [{"path": pointer, "message": "time-zone offset missing"}]},
        )
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:30+01:00 falls before year 1 in UTC
        raise InvalidDocument(
            f"{pointer}: {value!r} is outside the years 1-9999 once converted to UTC",
            details={"errors": [{"path": pointer, "message": "outside the representable time range"}]},
        ) from None


@dataclass(slots=True)
class IndexedEvent:
    """One event ready to store: its hash ID, the ``ledger_events`` columns, and its child rows."""

    hash_id: str
    event_json: str
    columns: dict[str, Any]
    quantities: list[dict[str, Any]] = field(default_factory=list)
    epcs: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def _base_quantity(quantity: Any, uom: Any) -> tuple[float | None, str | None]:
    """The quantity in kg or L when its unit converts; (None, None) for counts and other units."""
    if quantity is None or uom is None:
        return None, None
    try:
        value, unit = to_base(float(quantity), str(uom))
    except VigichemError:
        # Validation has already refused what must convert; anything else simply has no base quantity.
        return None, None
    return float(value), str(unit)


def index_event(event: dict[str, Any], hash_id: str, context: Any, pointer: str) -> IndexedEvent:
    """The rows of one validated event; ``pointer`` is its JSON pointer, used in error messages."""
    event_time = parse_event_time(str(event.get("eventTime", "")), f"{pointer}/eventTime")
    offset = event.get("eventTimeZoneOffset")
    if not isinstance(offset, str):
        raise InvalidDocument(
            f"{pointer}/eventTimeZoneOffset: the time-zone offset is required",
            details={"errors": [{"path": f"{pointer}/eventTimeZoneOffset", "message": "required"}]},
        )
    read_point = event.get("readPoint")
    biz_location = event.get("bizLocation")
    columns: dict[str, Any] = {
        "hash_id": hash_id,
        "event_type": str(event.get("type")),
        "action": event.get("action"),
        "event_time": event_time,
        "event_time_offset": offset,
        "biz_step": cbv_word(event.get("bizStep"), "bizStep"),
        "disposition": cbv_word(event.get("disposition"), "disposition"),
        "read_point": read_point.get("id") if isinstance(read_point, dict) else None,
        "biz_location": biz_location.get("id") if isinstance(biz_location, dict) else None,
        "party_ref": party_ref_of(event, context),
        "error_declaration": "errorDeclaration" in event,
    }
    indexed = IndexedEvent(
        hash_id=hash_id,
        event_json=_encode(event),
        columns=columns,
    )
    for list_name, role in _QUANTITY_LISTS:
        for ordinal, element in enumerate(event.get(list_name) or []):
            quantity = element.get("quantity")
            uom = element.get("uom")
            base_quantity, base_unit = _base_quantity(quantity, uom)
            indexed.quantities.append(
                {
                    "role": role,
                    "ordinal": ordinal,
                    "epc_class": element.get("epcClass"),
                    "quantity": None if quantity is None else float(quantity),
                    "uom": uom,
                    "base_quantity": base_quantity,
                    "base_unit": base_unit,
                }
            )
    for list_name, role in _EPC_LISTS:
        for ordinal, epc in enumerate(event.get(list_name) or []):
            indexed.epcs.append({"role": role, "ordinal": ordinal, "epc": epc})
    if isinstance(event.get("parentID"), str):
        indexed.epcs.append({"role": "parent", "ordinal": 0, "epc": event["parentID"]})
    for list_name, kind in (("sourceList", "source"), ("destinationList", "destination")):
        for ordinal, element in enumerate(event.get(list_name) or []):
            indexed.sources.append(
                {
                    "kind": kind,
                    "ordinal": ordinal,
                    "type": cbv_word(element.get("type"), "sourceType"),
                    "id": element.get(kind),
                }
            )
    return indexed
