"""The custody trace of a lot, on SQLite and PostgreSQL, over invented events (tests.detect.factories data).

Everything below is invented test data: sites, parties, quantities and times.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.detect.factories import DEPOT, SHOP_A, SHOP_B, at, document, movement, sale
from vigichem.errors import InvalidInput
from vigichem.ledger.db import events
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore
from vigichem.ledger.trace import lot_trace

LOT = "urn:vigichem:class:h2o2-30:L1"


def _destroying(moment_days: float, kg: float) -> dict[str, Any]:
    event = movement(at(moment_days), "destroying", SHOP_A, kg)
    event.update(action="DELETE", disposition="destroyed")
    return event


def _use(moment_days: float, kg: float) -> dict[str, Any]:
    """An invented TransformationEvent at shop B consuming the lot."""
    return {
        "type": "TransformationEvent",
        "eventTime": at(moment_days).isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "transformationID": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "readPoint": {"id": SHOP_B},
        "bizLocation": {"id": SHOP_B},
        "inputQuantityList": [{"epcClass": LOT, "quantity": kg, "uom": "KGM"}],
    }


@pytest.fixture
def traced(store: LedgerStore) -> LedgerStore:
    """A ledger holding one lot's invented journey, a withdrawn sale and another lot's sale."""
    from tests.detect.factories import masterdata

    MasterData(store.engine).load(masterdata())
    withdrawn = sale(at(3), "pty-withdrawn", 5.0)
    declared = dict(
        withdrawn, errorDeclaration={"declarationTime": "2022-03-06T09:00:00Z", "reason": "incorrect_data"}
    )
    chain = [
        movement(at(0), "commissioning", DEPOT, 100.0),
        movement(at(1), "shipping", DEPOT, 40.0, to=SHOP_A),
        movement(at(1.5), "receiving", SHOP_A, 40.0),
        movement(at(1.6), "shipping", DEPOT, 10.0, to=SHOP_B),
        sale(at(2), "pty-buyer1", 2.0),
        withdrawn,
        _destroying(3.5, 1.0),
        _use(4, 10.0),
        movement(at(5), "cycle_counting", DEPOT, 50.0),
        sale(at(2), "pty-other-lot", 3.0, product="water"),
        declared,
    ]
    for event in chain:
        capture(store, document(event))
    return store


def test_the_trace_draws_every_movement_of_the_lot_with_quantities(traced: LedgerStore) -> None:
    trace = lot_trace(traced.engine, LOT)
    moves = [(e.kind, e.source, e.target, e.quantity, e.unit) for e in trace.edges]
    assert moves == [
        ("produced", f"production:{DEPOT}", DEPOT, 100.0, "KGM"),
        ("shipped", DEPOT, SHOP_A, 40.0, "KGM"),
        ("received", DEPOT, SHOP_A, 40.0, "KGM"),
        ("shipped", DEPOT, SHOP_B, 10.0, "KGM"),
        ("sold", SHOP_A, "buyer:pty-buyer1", 2.0, "KGM"),
        ("destroyed", SHOP_A, f"disposal:{SHOP_A}", 1.0, "KGM"),
        ("used", SHOP_B, f"use:{SHOP_B}", 10.0, "KGM"),
    ]
    assert trace.observations == 1  # the stock count is not a movement
    assert trace.totals() == {
        "produced": 100.0,
        "shipped": 50.0,
        "received": 40.0,
        "sold": 2.0,
        "destroyed": 1.0,
        "used": 10.0,
    }
    nodes = {node.id: node for node in trace.nodes}
    assert (
        nodes[SHOP_A].kind == "site" and nodes[SHOP_A].label == "Shop A" and nodes[SHOP_A].site_id == "shop-a"
    )
    assert nodes["buyer:pty-buyer1"].kind == "buyer"
    assert "buyer:pty-withdrawn" not in nodes  # withdrawn by its error declaration
    assert "buyer:pty-other-lot" not in nodes  # another lot
    with traced.engine.connect() as connection:
        stored = set(connection.scalars(events.select().with_only_columns(events.c.hash_id)))
    assert all(edge.hash_id in stored for edge in trace.edges)
    assert trace.to_dict()["edges"][0]["eventTime"].endswith("Z")


def test_a_tenancy_condition_keeps_only_the_visible_part(traced: LedgerStore) -> None:
    trace = lot_trace(traced.engine, LOT, where=events.c.biz_location == SHOP_A)
    assert [(e.kind, e.quantity) for e in trace.edges] == [
        ("received", 40.0),
        ("sold", 2.0),
        ("destroyed", 1.0),
    ]


def test_an_unknown_lot_has_an_empty_trace_and_a_bad_one_is_refused(traced: LedgerStore) -> None:
    empty = lot_trace(traced.engine, "urn:vigichem:class:h2o2-30:NOPE")
    assert (empty.nodes, empty.edges, empty.observations) == ([], [], 0)
    with pytest.raises(InvalidInput):
        lot_trace(traced.engine, "  ")
