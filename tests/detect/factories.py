"""Invented supply-chain data for the detection tests.

Everything is invented: organisations, sites, parties, delivery references, quantities and times. The
chemicals are real listed ones by the CAS numbers the law prints: hydrogen peroxide (7722-84-1) and
sulphuric acid (7664-93-9), EU 2019/1148 Annex I; EAPA (5413-05-8), added to EU drug precursors Category 1
from 2022-10-03 (Delegated Regulation (EU) 2022/1518), used only before that date as a designer-precursor
backtest; water (7732-18-5) as the benign negative.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from vigichem.ledger.extensions import CONTEXT_ENTRY
from vigichem.ledger.masterdata_models import MasterDataFile

SHOP_A = "urn:epc:id:sgln:0614141.00777.0"
SHOP_B = "urn:epc:id:sgln:0614141.00778.0"
DEPOT = "urn:epc:id:sgln:0614141.00779.0"
START = dt.datetime(2022, 3, 2, 9, 0, tzinfo=dt.UTC)


def masterdata() -> MasterDataFile:
    """Two invented shops, a depot and four products (three regulated, one benign)."""
    return MasterDataFile.model_validate(
        {
            "organisations": [{"id": "shops", "name": "Shops (invented)", "country": "FR"}],
            "sites": [
                {"id": "shop-a", "organisation": "shops", "name": "Shop A", "location": SHOP_A},
                {"id": "shop-b", "organisation": "shops", "name": "Shop B", "location": SHOP_B},
                {"id": "depot", "organisation": "shops", "name": "Depot", "location": DEPOT},
            ],
            "products": [
                {
                    "id": "h2o2-30",
                    "name": "Hydrogen peroxide 30 % (invented product)",
                    "composition": [
                        {"substance": "7722-84-1", "percent": 30},
                        {"substance": "7732-18-5", "percent": 70},
                    ],
                },
                {
                    "id": "h2so4-35",
                    "name": "Sulphuric acid 35 % (invented product)",
                    "composition": [
                        {"substance": "7664-93-9", "percent": 35},
                        {"substance": "7732-18-5", "percent": 65},
                    ],
                },
                {
                    "id": "eapa",
                    "name": "EAPA (invented product)",
                    "composition": [{"substance": "5413-05-8", "percent": 100}],
                },
                {
                    "id": "water",
                    "name": "Demineralised water (invented product)",
                    "composition": [{"substance": "7732-18-5", "percent": 100}],
                },
            ],
        }
    )


def at(days: float) -> dt.datetime:
    """An invented moment ``days`` after :data:`START`."""
    return START + dt.timedelta(days=days)


def _time(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sale(
    moment: dt.datetime,
    party: str,
    kg: float,
    *,
    product: str = "h2o2-30",
    site: str = SHOP_A,
    payment: str = "card",
    id_verified: bool = True,
    customer_type: str = "private",
    end_use: str | None = "swimming pool care",
    delivery_type: str = "counter",
    delivery_ref: str | None = None,
) -> dict[str, Any]:
    """An invented retail sale event of ``kg`` kg of a product."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _time(moment),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "retail_selling",
        "disposition": "retail_sold",
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
        "quantityList": [{"epcClass": f"urn:vigichem:class:{product}:L1", "quantity": kg, "uom": "KGM"}],
        "vc:customerRef": party,
        "vc:paymentMethod": payment,
        "vc:idVerified": id_verified,
        "vc:customerType": customer_type,
        "vc:deliveryType": delivery_type,
    }
    if end_use is not None:
        event["vc:statedEndUse"] = end_use
    if delivery_ref is not None:
        event["vc:deliveryRef"] = delivery_ref
    return event


def movement(
    moment: dt.datetime, step: str, site: str, kg: float, *, to: str | None = None
) -> dict[str, Any]:
    """An invented production (``commissioning``), shipment, receipt or stock count of hydrogen peroxide."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _time(moment),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD" if step == "commissioning" else "OBSERVE",
        "bizStep": step,
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
        "quantityList": [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": kg, "uom": "KGM"}],
    }
    if to is not None:
        event["destinationList"] = [{"type": "location", "destination": to}]
        event["disposition"] = "in_transit"
    if step == "receiving":
        event["sourceList"] = [{"type": "location", "source": DEPOT}]
        event["destinationList"] = [{"type": "location", "destination": site}]
    return event


def document(*events: dict[str, Any]) -> dict[str, Any]:
    """An EPCISDocument holding the events."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", CONTEXT_ENTRY],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2022-01-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
