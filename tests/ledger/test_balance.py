"""Mass balance over a small scripted supply chain (invented, see factories.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.ledger.factories import (
    DE_LOCATION,
    H2O2_GTIN,
    PLANT_LOCATION,
    STORE_LOCATION,
    TDG_GTIN,
    TEA_GTIN,
    chain_csv,
    masterdata,
)
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.balance import compute_balance
from vigichem.ledger.balance_models import BalanceReport, LotBalance, SubstanceBalance
from vigichem.ledger.csv_import import import_csv
from vigichem.ledger.extensions import with_context
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
H2O2_CLASS = f"https://id.gs1.org/01/{H2O2_GTIN}/10/L1"


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """The invented master data and the scripted chain, imported through the CSV template."""
    MasterData(engine).load(masterdata())
    import_csv(engine, chain_csv())
    return engine


def _lot(report: BalanceReport, site: str, product: str = "h2o2-30", unit: str = "kg") -> LotBalance:
    found = [r for r in report.lots if r.site == site and r.product_id == product and r.unit == unit]
    assert len(found) == 1, report.lots
    return found[0]


def _substance(report: BalanceReport, site: str, cas: str) -> SubstanceBalance:
    found = [r for r in report.substances if r.site == site and r.substance == cas]
    assert len(found) == 1, report.substances
    return found[0]


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    # Invented events written natively (not through the CSV template).
    return {
        "@context": with_context(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-02-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _object_event(time: str, step: str, action: str, site: str, epc_class: str, qty: float, uom: str | None):
    element: dict[str, Any] = {"epcClass": epc_class, "quantity": qty}
    if uom:
        element["uom"] = uom
    return {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+00:00",
        "action": action,
        "bizStep": step,
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
        "quantityList": [element],
    }


def test_scripted_chain_gives_exact_lot_figures(chain: Engine) -> None:
    report = compute_balance(chain, as_of=AS_OF)
    plant = _lot(report, PLANT_LOCATION).movements
    assert (plant.produced, plant.received, plant.shipped, plant.sold) == (1000, 0, 310, 0)
    assert (plant.consumed, plant.destroyed, plant.expected) == (100, 50, 540)
    # The count on 31 January found 540 kg where the books then said 550 kg (the 10 kg left on 1 February).
    assert (plant.counted, plant.expected_at_count, plant.discrepancy) == (540, 550, -10)
    store = _lot(report, STORE_LOCATION).movements
    assert (store.received, store.sold, store.expected, store.counted, store.discrepancy) == (
        290,
        20,
        270,
        None,
        None,
    )
    assert _lot(report, PLANT_LOCATION).lot == "L1" and _lot(report, PLANT_LOCATION).site_id == "plant"


def test_substance_balance_goes_through_the_composition(chain: Engine) -> None:
    report = compute_balance(chain, as_of=AS_OF)
    peroxide = _substance(report, PLANT_LOCATION, "7722-84-1").movements  # 30 % w/w
    assert peroxide.produced == pytest.approx(300)
    assert peroxide.shipped == pytest.approx(93)
    assert (peroxide.consumed, peroxide.destroyed) == (pytest.approx(30), pytest.approx(15))
    assert peroxide.expected == pytest.approx(162)
    assert peroxide.discrepancy == pytest.approx(-3)
    water = _substance(report, STORE_LOCATION, "7732-18-5").movements  # 70 % w/w
    assert water.received == pytest.approx(203) and water.sold == pytest.approx(14)
    assert [s.substance for s in compute_balance(chain, as_of=AS_OF, substance="7722-84-1").substances] == [
        "7722-84-1",
        "7722-84-1",
    ]


def test_transit_reports_the_short_receipt_and_the_shipment_never_received(chain: Engine) -> None:
    report = compute_balance(chain, as_of=AS_OF)
    kinds = {(issue.kind, issue.destination): issue for issue in report.transit}
    assert set(kinds) == {("quantity_mismatch", STORE_LOCATION), ("not_received", DE_LOCATION)}
    short = kinds[("quantity_mismatch", STORE_LOCATION)]
    assert (short.shipped_quantity, short.received_quantity, short.days_in_transit) == (300, 290, 2)
    lost = kinds[("not_received", DE_LOCATION)]
    assert lost.shipped_quantity == 10 and lost.origin == PLANT_LOCATION
    # Given 60 days, the German shipment is not overdue yet on 1 March.
    patient = compute_balance(chain, as_of=AS_OF, transit_days=60)
    assert [issue.kind for issue in patient.transit] == ["quantity_mismatch"]


def test_as_of_ignores_later_events(chain: Engine) -> None:
    report = compute_balance(chain, as_of=dt.datetime(2026, 1, 21, tzinfo=dt.UTC))
    plant = _lot(report, PLANT_LOCATION).movements
    assert (plant.produced, plant.shipped, plant.consumed, plant.destroyed, plant.counted) == (
        1000,
        300,
        100,
        0,
        None,
    )


def test_filters_by_site_and_product(chain: Engine) -> None:
    by_site = compute_balance(chain, as_of=AS_OF, site="store")
    assert {row.site for row in by_site.lots} == {STORE_LOCATION}
    assert compute_balance(chain, as_of=AS_OF, site="4012345000009").lots[0].site == PLANT_LOCATION
    assert compute_balance(chain, as_of=AS_OF, product="tdg").lots == []
    assert len(compute_balance(chain, as_of=AS_OF, product=H2O2_GTIN).lots) == 2
    with pytest.raises(NotFound, match="unknown site 'nowhere'"):
        compute_balance(chain, site="nowhere")
    with pytest.raises(InvalidInput, match="transit days"):
        compute_balance(chain, transit_days=-1)


def test_lgtin_and_digital_link_forms_are_one_lot_and_counts_convert_through_net_content(
    chain: Engine,
) -> None:
    store = LedgerStore(chain)
    lgtin = "urn:epc:class:lgtin:4012345.012345.L1"  # the same GTIN and lot as the Digital Link form
    capture(
        store,
        _document(
            _object_event("2026-02-10T09:00:00Z", "receiving", "OBSERVE", STORE_LOCATION, lgtin, 10, "KGM"),
            # Three 5 L cans sold as a count of trade items (no uom): 15 L, i.e. 16.65 kg at 1.11 kg/L.
            _object_event(
                "2026-02-11T09:00:00Z", "retail_selling", "OBSERVE", STORE_LOCATION, H2O2_CLASS, 3, None
            ),
        ),
    )
    report = compute_balance(chain, as_of=AS_OF)
    assert _lot(report, STORE_LOCATION).movements.received == 300  # 290 + 10 through the LGTIN
    assert _lot(report, STORE_LOCATION, unit="L").movements.sold == 15
    peroxide = _substance(report, STORE_LOCATION, "7722-84-1").movements
    assert peroxide.sold == pytest.approx(20 * 0.3 + 15 * 1.11 * 0.3)


def test_a_withdrawn_event_does_not_count_and_its_correction_counts_once(chain: Engine) -> None:
    store = LedgerStore(chain)
    wrong = _object_event(
        "2026-02-15T09:00:00Z", "destroying", "DELETE", PLANT_LOCATION, H2O2_CLASS, 500, "KGM"
    )
    capture(store, _document(wrong))
    assert _lot(compute_balance(chain, as_of=AS_OF), PLANT_LOCATION).movements.destroyed == 550
    corrected = {**wrong, "quantityList": [{"epcClass": H2O2_CLASS, "quantity": 5, "uom": "KGM"}]}
    declaration = {
        **wrong,
        "errorDeclaration": {"declarationTime": "2026-02-16T09:00:00Z", "reason": "incorrect_data"},
    }
    result = capture(store, _document(declaration, corrected))
    assert len(result.new) == 2  # the declaration is a new ledger event, not a duplicate
    report = compute_balance(chain, as_of=AS_OF)
    assert _lot(report, PLANT_LOCATION).movements.destroyed == 55  # 50 + the corrected 5, not 500
    assert report.excluded_events == 1


def test_cwc_aggregates_against_the_declaration_thresholds(engine: Engine) -> None:
    MasterData(engine).load(masterdata())
    rows = [
        f"2026-02-01T08:00:00+01:00,production,plant,{TDG_GTIN},T1,1200,KGM,,,,",
        f"2026-03-01T08:00:00+01:00,shipment,plant,{TDG_GTIN},T1,300,KGM,de-site,,,",
        f"2026-03-05T08:00:00+01:00,receipt,plant,{TDG_GTIN},T2,200,KGM,de-site,,,",
        f"2026-04-01T08:00:00+01:00,shipment,plant,{TDG_GTIN},T1,100,KGM,store,,,",
        f"2025-12-31T08:00:00+01:00,production,plant,{TDG_GTIN},T0,5000,KGM,,,,",  # 2025 in UTC: not counted
    ]
    import_csv(engine, chain_csv(rows))
    # A transformation (invented): 1000 kg of TEA 85 % in, 500 kg of the same product out.
    capture(
        LedgerStore(engine),
        _document(
            {
                "type": "TransformationEvent",
                "eventTime": "2026-05-01T08:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "inputQuantityList": [
                    {"epcClass": f"https://id.gs1.org/01/{TEA_GTIN}/10/A", "quantity": 1000, "uom": "KGM"}
                ],
                "outputQuantityList": [
                    {"epcClass": f"https://id.gs1.org/01/{TEA_GTIN}/10/B", "quantity": 500, "uom": "KGM"}
                ],
                "readPoint": {"id": PLANT_LOCATION},
                "bizLocation": {"id": PLANT_LOCATION},
            }
        ),
    )
    report = compute_balance(engine, year=2026, as_of=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    by_substance = {(row.site_id, row.substance): row for row in report.cwc}
    tdg = by_substance[("plant", "111-48-8")]
    assert (tdg.schedule, tdg.entry, tdg.year) == ("CWC Schedule 2", "2B(13)", 2026)
    assert (tdg.produced, tdg.imported, tdg.exported) == (
        1200,
        200,
        300,
    )  # the shipment to the FR store is no export
    exceeded = {t.activity for t in tdg.thresholds if t.exceeded}
    assert exceeded == {"produced"} and tdg.declarable  # 1200 kg > 1 t (Verification Annex VII 3(c))
    assert {t.value for t in tdg.thresholds} == {1000.0}
    tea = by_substance[("plant", "102-71-6")]
    assert tea.schedule == "CWC Schedule 3"
    assert (tea.processed, tea.consumed, tea.produced) == (pytest.approx(425), pytest.approx(425), 0)
    assert not tea.declarable and {t.activity for t in tea.thresholds} == {
        "produced"
    }  # 30 t, production only
    assert ("plant", "7722-84-1") not in by_substance  # not a scheduled chemical
    assert compute_balance(engine, as_of=AS_OF).cwc == []  # only with a year


def test_empty_ledger_balances_to_nothing(engine: Engine) -> None:
    report = compute_balance(engine)
    assert (report.lots, report.substances, report.transit, report.cwc) == ([], [], [], [])
    assert report.as_dict()["excluded_events"] == 0
