"""The balance roll-up gives exactly the figures of the full aggregation (the reference), on both databases.

Ledgers are **invented** and randomized from fixed seeds (no real operator): ObjectEvents of every step
(some that do not count), TransformationEvents, several epcClass forms and units, counts, events captured
out of time order, readPoint-only events, and corrections by ``errorDeclaration``. Quantities are multiples
of 1/4, so every sum is exact in binary floating point whatever order the database adds in, and the two
paths must agree to the last bit.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select

from tests.ledger.factories import (
    DE_LOCATION,
    H2O2_GTIN,
    PLANT_LOCATION,
    STORE_LOCATION,
    TEA_GTIN,
    masterdata,
)
from vigichem.ledger.balance import compute_balance, withdrawn_hash_ids
from vigichem.ledger.balance_rollup import rollup_lot_rows
from vigichem.ledger.balance_sql import Filters, lot_rows
from vigichem.ledger.balance_tables import balance_rows, balance_state, balance_totals
from vigichem.ledger.db import create_engine_from_url, migrate
from vigichem.ledger.extensions import with_context
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.rollup import refresh_rollup
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

LATE = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
SITES = [PLANT_LOCATION, STORE_LOCATION, DE_LOCATION, "urn:epc:id:sgln:9520123.00001.0"]  # last: unregistered
CLASSES = [
    f"https://id.gs1.org/01/{H2O2_GTIN}/10/L1",
    "urn:epc:class:lgtin:4012345.012345.L1",  # the same GTIN and lot as the Digital Link above
    f"https://id.gs1.org/01/{H2O2_GTIN}/10/L2",
    f"https://id.gs1.org/01/{TEA_GTIN}/10/A",
    "urn:epc:idpat:sgtin:9520123.012345.*",  # invented, not registered
]
UNITS = ["KGM", "KGM", "LTR", None, "TNE"]
STEPS = [
    ("commissioning", "ADD"),
    ("receiving", "OBSERVE"),
    ("shipping", "OBSERVE"),
    ("retail_selling", "OBSERVE"),
    ("dispensing", "OBSERVE"),
    ("destroying", "DELETE"),
    ("cycle_counting", "OBSERVE"),
    ("cycle_counting", "OBSERVE"),
    ("inspecting", "OBSERVE"),  # not a movement
    ("receiving", "DELETE"),  # not a movement
    ("commissioning", "OBSERVE"),  # not a movement
]


def _quantity(rng: random.Random) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": rng.choice(CLASSES), "quantity": rng.randrange(1, 2000) / 4}
    unit = rng.choice(UNITS)
    if unit:
        element["uom"] = unit
    return element


def _event(rng: random.Random) -> dict[str, Any]:
    # One of 40 days in January–February 2026, in random order: ties (a movement at a count's very time)
    # and out-of-order captures happen.
    moment = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=rng.randrange(0, 40))
    site = rng.choice(SITES)
    common: dict[str, Any] = {
        "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventTimeZoneOffset": "+00:00",
        "readPoint": {"id": site},
    }
    if rng.random() < 0.85:
        common["bizLocation"] = {"id": site}
    if rng.random() < 0.15:
        return {
            "type": "TransformationEvent",
            **common,
            "inputQuantityList": [_quantity(rng) for _ in range(rng.randint(1, 2))],
            "outputQuantityList": [_quantity(rng)],
        }
    step, action = rng.choice(STEPS)
    return {
        "type": "ObjectEvent",
        **common,
        "action": action,
        "bizStep": step,
        "quantityList": [_quantity(rng)],
    }


def _document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": with_context(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _declaration(event: dict[str, Any]) -> dict[str, Any]:
    return {
        **event,
        "errorDeclaration": {"declarationTime": "2026-03-01T00:00:00Z", "reason": "incorrect_data"},
    }


class RandomLedger:
    """Captures seeded random documents (with corrections of earlier events) into a store."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.store = LedgerStore(engine)
        self.rng = random.Random(seed)
        self.captured: list[dict[str, Any]] = []

    def add(self, documents: int, events_per_document: int = 12) -> None:
        """Capture ``documents`` documents; about one event in ten withdraws an earlier one."""
        for _ in range(documents):
            batch = []
            for _ in range(events_per_document):
                if self.captured and self.rng.random() < 0.1:
                    wrong = self.rng.choice(self.captured)
                    batch.append(_declaration(wrong))
                    if self.rng.random() < 0.5:  # a corrective event with another quantity
                        batch.append({**wrong, "eventTime": "2026-02-27T12:00:00Z"})
                else:
                    event = _event(self.rng)
                    batch.append(event)
                    if event.get("bizStep") == "cycle_counting" and self.rng.random() < 0.5:
                        # A movement of the same lot at the count's very time counts before the count.
                        (element,) = event["quantityList"]
                        tied = {**element, "quantity": element["quantity"] + 0.25}
                        batch.append({**event, "bizStep": "receiving", "quantityList": [tied]})
                        # A second count at the same time: the later captured one is the last count.
                        recount = {**element, "quantity": element["quantity"] + 0.5}
                        batch.append({**event, "quantityList": [recount]})
            capture(self.store, _document(batch))
            self.captured.extend(e for e in batch if "errorDeclaration" not in e)


def _both(engine: Engine, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = compute_balance(engine, rollup=True, **options).as_dict()
    reference = compute_balance(engine, rollup=False, **options).as_dict()
    return fast, reference


def _rolled_up(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(balance_state.c.next_seq)) or 0)


def _log_size(engine: Engine) -> int:
    with engine.connect() as connection:
        from vigichem.ledger.db import events

        return int(connection.scalar(select(func.count()).select_from(events)) or 0)


@pytest.fixture
def registered(engine: Engine) -> Engine:
    """The invented master data of factories.py."""
    MasterData(engine).load(masterdata())
    return engine


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_equals_the_full_aggregation_on_random_ledgers(registered: Engine, seed: int) -> None:
    ledger = RandomLedger(registered, seed)
    ledger.add(6)
    fast, reference = _both(registered, as_of=LATE)
    assert fast == reference
    assert _rolled_up(registered) == _log_size(registered)  # the roll-up answered, not the fallback
    assert fast["excluded_events"] > 0 and fast["lots"]  # the seeds do withdraw events
    # The lot rows themselves, before any product mapping, are the same too.
    with registered.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection), as_of=LATE.replace(tzinfo=None))
        assert rollup_lot_rows(connection, filters) == lot_rows(connection, filters)
    for options in (
        {"site": "plant"},
        {"site": STORE_LOCATION},
        {"site": "urn:epc:id:sgln:9520123.00001.0"},
        {"product": "h2o2-30"},
        {"product": H2O2_GTIN},
        {"substance": "7722-84-1"},
        {"sites": [PLANT_LOCATION, DE_LOCATION]},
    ):
        fast, reference = _both(registered, as_of=LATE, **options)
        assert fast == reference, options


def test_a_capture_between_two_balances_is_rolled_up_by_the_second(registered: Engine) -> None:
    ledger = RandomLedger(registered, 11)
    ledger.add(3)
    first, reference = _both(registered, as_of=LATE)
    assert first == reference
    before = _rolled_up(registered)
    ledger.add(2)  # new events, new counts and corrections of events already rolled up
    second, reference = _both(registered, as_of=LATE)
    assert second == reference and second != first
    assert before < _rolled_up(registered) == _log_size(registered)


def test_a_past_as_of_falls_back_to_the_full_aggregation(registered: Engine) -> None:
    RandomLedger(registered, 5).add(4)
    moment = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    fast, reference = _both(registered, as_of=moment)
    assert fast == reference
    assert _rolled_up(registered) == 0  # nothing was rolled up: events after the moment exist
    # The latest event's own time is covered by the roll-up.
    with registered.connect() as connection:
        from vigichem.ledger.db import events

        latest = connection.scalar(select(func.max(events.c.event_time)))
    fast, reference = _both(registered, as_of=latest.replace(tzinfo=dt.UTC))
    assert fast == reference and _rolled_up(registered) == _log_size(registered)


def _totals(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(select(balance_totals).order_by(*balance_totals.primary_key))
        ]


def test_refresh_is_idempotent_and_concurrent_refreshers_do_not_double_count(registered: Engine) -> None:
    ledger = RandomLedger(registered, 21)
    ledger.add(2)
    refresh_rollup(registered)
    once = _totals(registered)
    assert refresh_rollup(registered) == _log_size(registered) and _totals(registered) == once
    errors: list[BaseException] = []

    def refresh_many() -> None:
        try:
            for _ in range(5):
                refresh_rollup(registered)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=refresh_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    ledger.add(3, events_per_document=8)  # captures while the refreshers run
    for thread in threads:
        thread.join()
    assert errors == []
    refresh_rollup(registered)
    with registered.connect() as connection:
        per_row = connection.execute(
            select(
                balance_rows.c.group_id, balance_rows.c.category, func.sum(balance_rows.c.qty), func.count()
            )
            .group_by(balance_rows.c.group_id, balance_rows.c.category)
            .order_by(balance_rows.c.group_id, balance_rows.c.category)
        ).all()
    # Each total is the sum of its rows (each row rolled up once; the rows' key would refuse a second).
    assert [tuple(row) for row in per_row] == _totals(registered)
    fast, reference = _both(registered, as_of=LATE)
    assert fast == reference


def _balance_row_indexes(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {str(index["name"]) for index in inspect(connection).get_indexes(balance_rows.name)}


def test_revision_0008_replaces_the_row_indexes_and_the_rollup_still_equals_the_reference(
    database_url: str,
) -> None:
    engine = create_engine_from_url(database_url)
    try:
        migrate(engine, "0007")
        MasterData(engine).load(masterdata())
        ledger = RandomLedger(engine, 4)
        ledger.add(3)
        refresh_rollup(engine)  # rolled up with the index of 0005
        assert _balance_row_indexes(engine) == {
            "ix_ledger_balance_rows_category_group",
            "ix_ledger_balance_rows_group_time",
        }
        migrate(engine)
        assert _balance_row_indexes(engine) == {"ix_ledger_balance_rows_group_category_time"}
        ledger.add(3)  # new counts: the refresh finds each group's last count through the new index
        fast, reference = _both(engine, as_of=LATE)
        assert fast == reference
        assert fast["excluded_events"] > 0 and any(lot["counted"] is not None for lot in fast["lots"])
    finally:
        engine.dispose()


def test_a_balance_leaves_the_garbage_collector_as_it_found_it(registered: Engine) -> None:
    # compute_balance pauses the collector while it builds the report (docs/balance.md, "Speed").
    RandomLedger(registered, 5).add(2)
    assert gc.isenabled()
    compute_balance(registered, as_of=LATE)
    assert gc.isenabled()
    gc.disable()
    try:
        compute_balance(registered, as_of=LATE)
        assert not gc.isenabled()  # not turned on by a balance that found it off
    finally:
        gc.enable()
