"""EPCIS 2.0 events of the business steps as docs/events.md defines them (what `vigichem capture` accepts).

Builders return plain dicts in a fixed key order, so the same arguments always serialise to the same bytes.
Quantities are whole numbers (trade items or kg), which keeps the simulated book stock exact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from vigichem.ledger import extensions as ext

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CONTEXT: list[Any] = [EPCIS_CONTEXT, dict(ext.CONTEXT_ENTRY)]

Quantities = list[tuple[str, float]]
"""(epcClass, quantity) pairs; one unit for all of them."""


def timestamp(moment: dt.datetime) -> str:
    """ISO 8601 with the offset the event carries (``2023-01-02T09:15:00+01:00``)."""
    return moment.isoformat(timespec="seconds")


def _offset(moment: dt.datetime) -> str:
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def _quantity_list(quantities: Quantities, unit: str | None) -> list[dict[str, Any]]:
    out = []
    for epc_class, quantity in quantities:
        element: dict[str, Any] = {"epcClass": epc_class, "quantity": quantity}
        if unit is not None:
            element["uom"] = unit
        out.append(element)
    return out


def _object_event(
    moment: dt.datetime, action: str, biz_step: str, disposition: str | None, site: str
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": timestamp(moment),
        "eventTimeZoneOffset": _offset(moment),
        "action": action,
        "bizStep": biz_step,
    }
    if disposition is not None:
        event["disposition"] = disposition
    event["readPoint"] = {"id": site}
    event["bizLocation"] = {"id": site}
    return event


def production(moment: dt.datetime, site: str, quantities: Quantities, unit: str | None) -> dict[str, Any]:
    """Commissioning of a lot at a producing site (ObjectEvent ADD)."""
    event = _object_event(moment, "ADD", "commissioning", "active", site)
    event["quantityList"] = _quantity_list(quantities, unit)
    return event


def shipment(
    moment: dt.datetime, site: str, destination: str, quantities: Quantities, unit: str | None
) -> dict[str, Any]:
    """A shipment from ``site`` to ``destination`` (ObjectEvent OBSERVE shipping, in transit)."""
    event = _object_event(moment, "OBSERVE", "shipping", "in_transit", site)
    event["quantityList"] = _quantity_list(quantities, unit)
    event["sourceList"] = [{"type": "location", "source": site}]
    event["destinationList"] = [{"type": "location", "destination": destination}]
    return event


def receipt(
    moment: dt.datetime, site: str, source: str, quantities: Quantities, unit: str | None
) -> dict[str, Any]:
    """A receipt at ``site`` of goods sent by ``source`` (ObjectEvent OBSERVE receiving)."""
    event = _object_event(moment, "OBSERVE", "receiving", "in_progress", site)
    event["quantityList"] = _quantity_list(quantities, unit)
    event["sourceList"] = [{"type": "location", "source": source}]
    event["destinationList"] = [{"type": "location", "destination": site}]
    return event


def sale(
    moment: dt.datetime,
    site: str,
    quantities: Quantities,
    unit: str | None,
    extensions: dict[str, Any],
) -> dict[str, Any]:
    """A sale at ``site`` to a buyer named only by its party reference (ObjectEvent retail_selling)."""
    event = _object_event(moment, "OBSERVE", "retail_selling", "retail_sold", site)
    event["quantityList"] = _quantity_list(quantities, unit)
    event.update(extensions)
    return event


def use(
    moment: dt.datetime, site: str, quantities: Quantities, unit: str | None, transformation_id: str
) -> dict[str, Any]:
    """Consumption in a process at ``site`` (TransformationEvent with inputs only)."""
    return {
        "type": "TransformationEvent",
        "eventTime": timestamp(moment),
        "eventTimeZoneOffset": _offset(moment),
        "transformationID": transformation_id,
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
        "inputQuantityList": _quantity_list(quantities, unit),
    }


def disposal(moment: dt.datetime, site: str, quantities: Quantities, unit: str | None) -> dict[str, Any]:
    """Destruction of damaged or expired goods (ObjectEvent DELETE destroying)."""
    event = _object_event(moment, "DELETE", "destroying", "destroyed", site)
    event["quantityList"] = _quantity_list(quantities, unit)
    return event


def stock_count(moment: dt.datetime, site: str, quantities: Quantities, unit: str | None) -> dict[str, Any]:
    """A stock count: the quantity on hand (ObjectEvent OBSERVE cycle_counting)."""
    event = _object_event(moment, "OBSERVE", "cycle_counting", None, site)
    event["quantityList"] = _quantity_list(quantities, unit)
    return event


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    """An EPCISDocument of ``events``; its creation date is its last event's time (deterministic)."""
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": events[-1]["eventTime"],
        "epcisBody": {"eventList": events},
    }


__all__ = [
    "CONTEXT",
    "EPCIS_CONTEXT",
    "Quantities",
    "disposal",
    "document",
    "production",
    "receipt",
    "sale",
    "shipment",
    "stock_count",
    "timestamp",
    "use",
]
