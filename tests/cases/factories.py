"""Invented alerts for the case tests (invented test data: rules, subjects and hash IDs are made up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigichem.detect.models import Alert, Scope, Severity

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fake_hash(index: int) -> str:
    """An invented Event Hash ID (the right shape, not the hash of a real event)."""
    return f"ni:///sha-256;{index:064x}?ver=CBV2.0"


def alert(
    *,
    subject: str = "pty-invented-0001",
    subject_type: str = "party",
    rule: str = "split_purchase",
    typology: str = "split_purchase",
    hashes: tuple[int, ...] = (1, 2),
    detected: datetime = T0,
    severity: Severity = Severity.HIGH,
    detail: str | None = None,
    jurisdiction: str = "EU",
) -> Alert:
    """An invented alert on ``subject`` whose evidence is the invented events ``hashes``."""
    return Alert(
        rule=rule,
        typology=typology,
        detail=detail,
        basis="Regulation (EU) 2019/1148 Art. 9 (invented test alert)",
        severity=severity,
        scope=Scope.OPERATOR,
        subject_type=subject_type,
        subject_id=subject,
        jurisdiction=jurisdiction,
        event_hash_ids=tuple(fake_hash(index) for index in hashes),
        first_event_time=detected - timedelta(days=2),
        last_event_time=detected - timedelta(hours=1),
        detected_at=detected,
        explanation=f"{len(hashes)} purchases of 10 kg each, together above the 12 kg limit (invented)",
        evidence={"total_kg": 10.0 * len(hashes), "limit_kg": 12.0},
    )


# -- a small invented ledger for the report tests ------------------------------------------------------------
# Invented: the shop, its location, the product, the buyer, the times and the quantities. The chemical is a
# real listed one by the CAS number the law prints: hydrogen peroxide (7722-84-1), EU 2019/1148 Annex I;
# water (7732-18-5) is the benign rest of the mixture.

SHOP = "urn:epc:id:sgln:0614141.00901.0"


def masterdata() -> dict[str, object]:
    """One invented shop and one invented product (hydrogen peroxide 30 % in water)."""
    return {
        "organisations": [{"id": "shop-org", "name": "Invented Shop SARL", "country": "FR"}],
        "sites": [{"id": "shop", "organisation": "shop-org", "name": "Invented shop", "location": SHOP}],
        "products": [
            {
                "id": "h2o2-30",
                "name": "Hydrogen peroxide 30 % (invented product)",
                "composition": [
                    {"substance": "7722-84-1", "percent": 30},
                    {"substance": "7732-18-5", "percent": 70},
                ],
            }
        ],
    }


def sale(moment: datetime, party: str, kg: float, *, payment: str = "cash") -> dict[str, object]:
    """An invented counter sale of ``kg`` kg of the invented product, paid ``payment``, no end use stated."""
    return {
        "type": "ObjectEvent",
        "eventTime": moment.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "retail_selling",
        "disposition": "retail_sold",
        "readPoint": {"id": SHOP},
        "bizLocation": {"id": SHOP},
        "quantityList": [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": kg, "uom": "KGM"}],
        "vc:customerRef": party,
        "vc:paymentMethod": payment,
        "vc:idVerified": False,
        "vc:customerType": "private",
        "vc:deliveryType": "counter",
    }


def document(*events: dict[str, object]) -> dict[str, object]:
    """An EPCISDocument holding the invented events."""
    from vigichem.ledger.extensions import CONTEXT_ENTRY

    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", CONTEXT_ENTRY],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
