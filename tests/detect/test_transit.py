"""The incremental transit rows of the streaming scans equal the balance's (the reference), on both databases.

Ledgers are **invented** and randomized from fixed seeds: shipments to a few destinations (some with two
quantity elements, some without a destination), receipts there (whole, short, missing, or of another
unit), events captured out of time order, other steps that do not count, and corrections by
``errorDeclaration``. After every document the tracker is asked at moments that go forward and back, and
must give the rows and issues of :func:`vigichem.ledger.balance_sql.transit_rows` exactly. Quantities are
multiples of 1/4 so that every total is exact whatever order the database adds in.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.ledger.factories import masterdata as ledger_masterdata
from tests.ledger.test_balance_rollup import SITES as LEDGER_SITES
from tests.ledger.test_balance_rollup import RandomLedger
from vigichem.detect.engine import DetectionEngine
from vigichem.detect.rules.inventory import TheftLoss
from vigichem.detect.transit import TransitTracker, WithdrawnEvents, last_seq
from vigichem.ledger.balance import compute_balance, transit_issues, withdrawn_hash_ids
from vigichem.ledger.balance_sql import Filters, transit_rows
from vigichem.ledger.extensions import with_context
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

START = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
SITES = [f"urn:epc:id:sgln:9520123.0000{i}.0" for i in range(1, 5)]  # invented locations
CLASSES = ["urn:vigichem:class:h2o2-30:L1", "urn:vigichem:class:h2o2-30:L2", "urn:vigichem:class:hno3:A"]
UNITS = ["KGM", "KGM", "TNE", None]


def _quantity(rng: random.Random, epc_class: str | None = None, unit: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "epcClass": epc_class or rng.choice(CLASSES),
        "quantity": rng.randrange(1, 400) / 4,
    }
    if unit or (unit is None and (unit := rng.choice(UNITS))):
        element["uom"] = unit
    return element


def _time(days: float) -> str:
    return (START + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


class RandomTransit:
    """Seeded random shipments and receipts, captured document by document (invented)."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.store = LedgerStore(engine)
        self.rng = random.Random(seed)
        self.shipped: list[dict[str, Any]] = []
        self.captured: list[dict[str, Any]] = []
        self.day = 0.0

    def _shipment(self) -> dict[str, Any]:
        rng = self.rng
        origin, destination = rng.sample(SITES, 2)
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": _time(self.day + rng.uniform(-6, 2)),  # sometimes captured late
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "readPoint": {"id": origin},
            "quantityList": [_quantity(rng) for _ in range(rng.choice([1, 1, 1, 2]))],
        }
        if rng.random() < 0.8:
            event["bizLocation"] = {"id": origin}
        if rng.random() < 0.9:
            event["destinationList"] = [{"type": "location", "destination": destination}]
        return event

    def _receipt(self, shipment: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        destination = shipment.get("destinationList", [{"destination": rng.choice(SITES)}])[0]["destination"]
        elements = []
        for element in shipment["quantityList"]:
            draw = rng.random()
            if draw < 0.15:
                continue  # this element never arrives
            received = dict(element)
            if draw < 0.3:
                received["quantity"] = max(0.25, element["quantity"] - rng.randrange(1, 20) / 4)  # short
            elif draw < 0.35:
                received["uom"] = "TNE" if element.get("uom") != "TNE" else "KGM"  # another unit
            elements.append(received)
        if not elements:
            return None
        shipped_at = dt.datetime.fromisoformat(shipment["eventTime"].replace("Z", "+00:00"))
        return {
            "type": "ObjectEvent",
            "eventTime": (shipped_at + dt.timedelta(days=rng.uniform(0, 20))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventTimeZoneOffset": "+00:00",
            "action": rng.choice(["OBSERVE", "OBSERVE", "OBSERVE", "DELETE"]),  # DELETE: not a receipt
            "bizStep": "receiving",
            "readPoint": {"id": destination},
            "bizLocation": {"id": destination},
            "quantityList": elements,
        }

    def add_document(self) -> None:
        """Capture one document of about ten events; about one in fifteen withdraws an earlier event."""
        rng = self.rng
        batch: list[dict[str, Any]] = []
        for _ in range(10):
            draw = rng.random()
            if draw < 0.45:
                shipment = self._shipment()
                self.shipped.append(shipment)
                batch.append(shipment)
            elif draw < 0.85 and self.shipped:
                receipt = self._receipt(self.shipped.pop(rng.randrange(len(self.shipped))))
                if receipt is not None:
                    batch.append(receipt)
            elif draw < 0.92 and self.captured:
                wrong = rng.choice(self.captured)
                batch.append(
                    {
                        **wrong,
                        "errorDeclaration": {"declarationTime": _time(self.day), "reason": "incorrect_data"},
                    }
                )
            else:
                sale = self._shipment()
                batch.append({**sale, "bizStep": "retail_selling"})  # not a transit movement
            self.day += rng.uniform(0.2, 1.5)
        document = {
            "@context": with_context(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]),
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-06-01T00:00:00Z",
            "epcisBody": {"eventList": batch},
        }
        capture(self.store, document)
        self.captured.extend(e for e in batch if "errorDeclaration" not in e)


def _reference(engine: Engine, as_of: dt.datetime) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection), as_of=as_of)
        return transit_rows(connection, filters)


@pytest.mark.parametrize("seed", [11, 12])
def test_tracker_rows_equal_the_balance_on_random_ledgers(engine: Engine, seed: int) -> None:
    ledger = RandomTransit(engine, seed)
    tracker = TransitTracker(engine)
    declarations = WithdrawnEvents()
    compared = issues = 0
    for _ in range(14):
        ledger.add_document()
        with engine.connect() as connection:
            withdrawn = declarations.refresh(connection, last_seq(connection))
            assert sorted(withdrawn) == withdrawn_hash_ids(connection)
        now = (START + dt.timedelta(days=ledger.day)).replace(tzinfo=None)
        # Forward, back (a replay's document ends earlier than the previous one), and far ahead.
        for as_of in (now, now - dt.timedelta(days=9), now + dt.timedelta(days=30)):
            expected = _reference(engine, as_of)
            assert tracker.rows(as_of) == expected
            found = tracker.issues(as_of, 14.0)
            assert found == transit_issues(expected, as_of, 14.0)
            compared += 1
            issues += len(found)
    # The ledgers are not trivial: shipments were judged and some are not (fully) received.
    assert compared == 42
    assert issues > 10


def test_a_fresh_tracker_and_one_kept_since_the_start_agree(engine: Engine) -> None:
    ledger = RandomTransit(engine, 5)
    kept = TransitTracker(engine)
    for _ in range(6):
        ledger.add_document()
        kept.rows(START.replace(tzinfo=None) + dt.timedelta(days=ledger.day))
    as_of = START.replace(tzinfo=None) + dt.timedelta(days=ledger.day)
    assert kept.rows(as_of) == TransitTracker(engine).rows(as_of) == _reference(engine, as_of)
    # An aware moment is the same UTC moment.
    aware = kept.issues(as_of.replace(tzinfo=dt.UTC), 3.0)
    assert aware == transit_issues(_reference(engine, as_of), as_of, 3.0)


@pytest.mark.parametrize("seed", [1])
def test_theft_rule_reads_the_lots_of_the_balance(engine: Engine, seed: int) -> None:
    """The stock-count rule's narrower read of a site's lots equals the balance report's lots."""
    MasterData(engine).load(ledger_masterdata())
    (rule,) = DetectionEngine(engine, only=["theft_loss"]).rules
    assert isinstance(rule, TheftLoss)
    ledger = RandomLedger(engine, seed)  # invented ledgers with counts, corrections, late captures
    checked = 0
    for _ in range(2):
        ledger.add(5)
        for day in (12, 45):
            as_of = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=day)
            for site in LEDGER_SITES:
                expected = compute_balance(engine, site=site, as_of=as_of).lots
                assert rule._site_lots(engine, site, as_of) == expected
                checked += len(expected)
    assert checked > 50
