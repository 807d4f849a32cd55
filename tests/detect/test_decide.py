"""Point-of-sale decisions: the law from screening, indicators from the rules, precise errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.detect.factories import SHOP_A, at, document, sale
from vigichem.detect.decide import Decider, decide, parse_proposed_sale
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

H2O2_30 = "hydrogen peroxide 30%; water 70%"  # EU 2019/1148 Annex I: limit 12 %, licence up to 35 %


def _sale(**fields: Any) -> dict[str, Any]:
    return {"composition": H2O2_30, "quantity": 1, "stated_use": "pool care", "id_verified": True, **fields}


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({}, "licence_required"),
        ({"licence": "FR-LIC-1 (invented)"}, "allow"),
        ({"composition": "hydrogen peroxide 40%; water 60%"}, "refuse"),
        ({"customer_type": "pool"}, "allow"),
        ({"composition": "hydrogen peroxide 10%; water 90%"}, "allow"),
        ({"composition": "hydrogen peroxide 10%; water 90%", "id_verified": False}, "allow_and_report"),
        ({"composition": "hydrogen peroxide 10%; water 90%", "stated_use": None}, "allow_and_report"),
        ({"composition": "water 100%"}, "allow"),
        # EAPA (EU drug precursors Cat. 1 from 2022-10-03): refused to a private buyer once listed ...
        ({"composition": "5413-05-8 100%", "time": "2023-01-10T10:00:00+01:00"}, "refuse"),
        (
            {"composition": "5413-05-8 100%", "time": "2023-01-10T10:00:00Z", "customer_type": "laboratory"},
            "licence_required",
        ),
        # ... and watched (designer precursor) before its listing.
        (
            {"composition": "5413-05-8 100%", "time": "2021-01-10T10:00:00Z", "customer_type": "laboratory"},
            "allow_and_report",
        ),
    ],
)
def test_outcomes(fields: dict[str, Any], outcome: str) -> None:
    decision = decide(_sale(**fields))
    assert decision.outcome == outcome, decision.to_dict()
    assert all(reason.basis for reason in decision.reasons)


def test_reasons_name_the_law_and_the_limits() -> None:
    refused = decide(_sale(composition="hydrogen peroxide 40%; water 60%"))
    assert "above the licence upper limit of 35 % w/w" in refused.reasons[0].text
    assert "Art. 5(1)" in refused.reasons[0].basis and "Annex I" in refused.reasons[0].basis
    assert refused.findings and refused.findings[0]["status"] == "restricted"
    licence = decide(_sale())
    assert "needs a licence" in licence.reasons[0].text and "Art. 5(3)" in licence.reasons[0].basis


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"quantity": -1}, "quantity"),
        ({"quantity": "a lot"}, "quantity"),
        ({"unit": "BARREL"}, "unit: 'BARREL' is not a UN/ECE Rec 20"),
        ({"customer_type": "alien"}, "customer_type: unknown customer type"),
        ({"payment": "gold"}, "payment: unknown payment method"),
        ({"delivery_type": "drone"}, "delivery_type"),
        ({"party_ref": "John Smith"}, "party_ref"),
        ({"time": "2026-01-01T10:00:00"}, "time: must carry a time zone"),
        ({"product": "h2o2-30"}, "exactly one of 'product' and 'composition'"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_sales_get_precise_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_proposed_sale(_sale(**fields))
    assert message in caught.value.message


def test_bad_composition_is_a_typed_error() -> None:
    with pytest.raises(InvalidInput):
        decide(_sale(composition="hydrogen peroxide 130%"))


def test_registered_product_and_the_buyers_history(loaded: LedgerStore) -> None:
    decider = Decider(loaded.engine)
    base = {
        "product": "h2o2-30",
        "quantity": 6,
        "customer_type": "pool",
        "stated_use": "pool",
        "id_verified": True,
        "site": SHOP_A,
    }
    first = decider.decide(parse_proposed_sale({**base, "party_ref": "pty-hist", "time": at(3).isoformat()}))
    assert first.outcome == "allow"
    for day in range(3):
        capture(loaded, document(sale(at(day), "pty-hist", 6.0, customer_type="pool")))
    # Three earlier small purchases in the ledger make this fourth one a split purchase to report.
    later = decider.decide(parse_proposed_sale({**base, "party_ref": "pty-hist", "time": at(3).isoformat()}))
    assert later.outcome == "allow_and_report"
    assert any(r.text.startswith("split_purchase: 4 purchases") for r in later.reasons), later.to_dict()
    with pytest.raises(NotFound, match="not registered"):
        decider.decide(parse_proposed_sale({**base, "product": "unknown-product"}))
