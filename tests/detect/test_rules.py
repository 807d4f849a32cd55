"""Each rule on small invented event sequences (tests/detect/factories.py), streamed through the engine."""

from __future__ import annotations

from typing import Any

from tests.detect.factories import DEPOT, SHOP_A, SHOP_B, at, document, movement, sale
from vigichem.detect.engine import DetectionEngine
from vigichem.detect.models import Alert
from vigichem.ledger.store import LedgerStore


def stream(store: LedgerStore, *events: dict[str, Any], scan_at: float | None = None) -> list[Alert]:
    """Capture each event in its own document, judging it as captured; optionally scan the ledger after."""
    detector = DetectionEngine(store.engine, "EU")
    alerts: list[Alert] = []
    for event in events:
        alerts += detector.capture(store, document(event))[1]
    if scan_at is not None:
        alerts += detector.scan(at(scan_at))
    return alerts


def kinds(alerts: list[Alert]) -> list[tuple[str, str | None]]:
    return [(a.typology, a.detail) for a in alerts]


def test_split_purchase_at_one_seller_fires_once_on_the_fourth_small_purchase(loaded: LedgerStore) -> None:
    # 6 kg of a 30 % product = 1.8 kg hydrogen peroxide per purchase: small, but four add up to 7.2 kg.
    alerts = stream(loaded, *(sale(at(day), "pty-split", 6.0) for day in range(5)))
    assert kinds(alerts) == [("split_purchase", None)]
    alert = alerts[0]
    assert alert.subject_type == "party" and alert.subject_id == "pty-split"
    assert len(alert.event_hash_ids) == 4 and alert.evidence["purchases"] == 4
    assert alert.evidence["total_kg"] == 7.2 and "Art. 9(1)(c)" in alert.basis
    assert "4 purchases of Hydrogen peroxide" in alert.explanation


def test_three_purchases_or_a_long_gap_are_not_a_split(loaded: LedgerStore) -> None:
    assert stream(loaded, *(sale(at(day), "pty-few", 6.0) for day in range(3))) == []
    spread = stream(loaded, *(sale(at(day * 20), "pty-slow", 6.0) for day in range(5)))
    assert spread == []


def test_split_over_several_sellers_is_seen_at_authority_scope(loaded: LedgerStore) -> None:
    shops = [SHOP_A, SHOP_B, SHOP_A]
    alerts = stream(loaded, *(sale(at(day), "pty-multi", 6.0, site=shop) for day, shop in enumerate(shops)))
    assert kinds(alerts) == [("split_purchase_multi_seller", None)]
    assert alerts[0].scope == "authority" and alerts[0].evidence["sellers"] == 2


def test_quantity_spike_against_own_history(loaded: LedgerStore) -> None:
    history = [sale(at(day * 10), "pty-lab", 2.0, customer_type="laboratory") for day in range(3)]
    alerts = stream(loaded, *history, sale(at(40), "pty-lab", 40.0, customer_type="laboratory"))
    assert kinds(alerts) == [("quantity_spike", "own_history")]
    assert alerts[0].evidence["ratio"] == 20.0 and alerts[0].evidence["median"] == 2.0


def test_an_ordinary_repeat_is_no_spike(loaded: LedgerStore) -> None:
    purchases = [sale(at(day * 10), "pty-steady", 2.0, customer_type="laboratory") for day in range(3)]
    assert stream(loaded, *purchases, sale(at(40), "pty-steady", 5.0, customer_type="laboratory")) == []


def test_unusual_combination_by_a_private_buyer_only(loaded: LedgerStore) -> None:
    private = stream(loaded, sale(at(0), "pty-combo", 1.0), sale(at(2), "pty-combo", 1.0, product="h2so4-35"))
    assert kinds(private) == [("unusual_combination", None)]
    assert private[0].evidence["substances"] == ["7664-93-9", "7722-84-1"]
    pool = stream(
        loaded,
        sale(at(0), "pty-pool", 1.0, customer_type="pool"),
        sale(at(2), "pty-pool", 1.0, product="h2so4-35", customer_type="pool"),
    )
    assert pool == []


def test_each_sale_indicator_names_itself(loaded: LedgerStore) -> None:
    alerts = stream(
        loaded,
        sale(at(0), "pty-cash", 400.0, payment="cash", customer_type="farm"),  # 120 kg H2O2 in cash
        sale(at(1), "pty-noid", 1.0, id_verified=False),
        sale(at(2), "pty-nouse", 1.0, end_use=None),
        sale(at(3), "pty-lab2", 1.0, customer_type="laboratory", delivery_type="po_box"),
    )
    assert kinds(alerts) == [
        ("sale_indicator", "cash"),
        ("sale_indicator", "no_id"),
        ("sale_indicator", "no_end_use"),
        ("sale_indicator", "private_address_company_order"),
    ]
    assert [a.subject_id for a in alerts] == ["pty-cash", "pty-noid", "pty-nouse", "pty-lab2"]
    # Each indicator carries the one basis it rests on.
    assert "Art. 9(1)(e)" in alerts[0].basis and "Art. 9(1)(d)" not in alerts[0].basis
    assert "Art. 9(1)(d)" in alerts[1].basis and "Art. 9(1)(a)" in alerts[2].basis
    assert "2020/C 210/01" in alerts[3].basis


def test_many_buyers_one_delivery_address(loaded: LedgerStore) -> None:
    buyers = [sale(at(day), f"pty-buyer{day}", 1.0, delivery_ref="adr-shared") for day in range(3)]
    alerts = stream(loaded, *buyers)
    assert kinds(alerts) == [("sale_indicator", "many_buyers_one_address")]
    assert (alerts[0].subject_type, alerts[0].subject_id) == ("address", "adr-shared")
    assert len(alerts[0].event_hash_ids) == 3


def test_benign_product_raises_nothing(loaded: LedgerStore) -> None:
    events = [
        sale(at(d), "pty-water", 500.0, product="water", payment="cash", id_verified=False) for d in range(5)
    ]
    assert stream(loaded, *events) == []


def test_theft_loss_reports_a_new_shortfall_once(loaded: LedgerStore) -> None:
    alerts = stream(
        loaded,
        movement(at(0), "commissioning", DEPOT, 100.0),
        movement(at(1), "cycle_counting", DEPOT, 100.0),  # agrees with the book
        movement(at(2), "cycle_counting", DEPOT, 80.0),  # 20 kg gone
        movement(at(3), "cycle_counting", DEPOT, 80.0),  # the same loss, not a new one
    )
    assert kinds(alerts) == [("theft_loss", None)]
    assert alerts[0].subject_id == DEPOT and alerts[0].evidence["missing"] == 20.0


def test_shipment_not_received_and_received_short(loaded: LedgerStore) -> None:
    alerts = stream(
        loaded,
        movement(at(0), "commissioning", DEPOT, 100.0),
        movement(at(1), "shipping", DEPOT, 30.0, to=SHOP_A),
        movement(at(1), "shipping", DEPOT, 50.0, to=SHOP_B),
        movement(at(2), "receiving", SHOP_B, 40.0),
        scan_at=30,
    )
    assert sorted(kinds(alerts)) == [("shipment_not_received", None), ("shipment_short", None)]
    short = next(a for a in alerts if a.typology == "shipment_short")
    assert short.evidence["missing"] == 10.0 and short.subject_type == "shipment"


def test_shipment_still_in_transit_is_not_reported(loaded: LedgerStore) -> None:
    alerts = stream(
        loaded,
        movement(at(0), "commissioning", DEPOT, 100.0),
        movement(at(1), "shipping", DEPOT, 30.0, to=SHOP_A),
        scan_at=5,
    )
    assert alerts == []


def test_designer_precursor_before_its_listing_only(loaded: LedgerStore) -> None:
    # EAPA is listed from 2022-10-03: a sale in March 2022 is watched, one in 2023 is simply controlled.
    before = stream(loaded, sale(at(0), "pty-eapa", 1.0, product="eapa"))
    assert ("designer_precursor", "5413-05-8") in kinds(before)
    after = stream(loaded, sale(at(400), "pty-eapa2", 1.0, product="eapa"))
    assert "designer_precursor" not in [a.typology for a in after]


def test_cold_start_private_buyer_of_many_trade_items(loaded: LedgerStore) -> None:
    # No history of the customer type yet: twelve bottles (a count, no unit) at once is unusual for a
    # household; two bottles are not.
    many = sale(at(0), "pty-bulk", 1.0)
    many["quantityList"] = [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": 12}]
    few = sale(at(1), "pty-two", 1.0)
    few["quantityList"] = [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": 2}]
    alerts = stream(loaded, many, few)
    assert kinds(alerts) == [("quantity_spike", "customer_type")]
    assert alerts[0].subject_id == "pty-bulk" and "trade items" in alerts[0].explanation
