"""The stock-count rule's site book gives the balance's lot rows (the reference), on both databases.

Ledgers are **invented** and randomized from fixed seeds (``tests/ledger/test_balance_rollup.py``): every
step, TransformationEvents, several epcClass forms and units, counts (two at one moment, a movement at a
count's very time), events captured out of time order, readPoint-only events and corrections by
``errorDeclaration``. After every few documents a book kept since the start is asked about every site at
moments before, inside and after the ledger's time span, and must give
:func:`vigichem.ledger.balance_sql.lot_rows` exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import Engine, func, or_, select

from tests.ledger.factories import masterdata as ledger_masterdata
from tests.ledger.test_balance_rollup import SITES, RandomLedger, _document
from vigichem.detect.stock import SiteBook
from vigichem.ledger.balance import withdrawn_hash_ids
from vigichem.ledger.balance_sql import MOVEMENT_STEPS, QUANTITY, TRANSFORMATION, Filters, lot_rows
from vigichem.ledger.db import events, quantities
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

START = dt.datetime(2026, 1, 1, 9)  # naive UTC, as the balance's filters take it
MOMENTS = [
    START - dt.timedelta(days=1),
    START,
    *(START + dt.timedelta(days=d) for d in (3, 12.5, 20, 39, 400)),
]


def _reference(engine: Engine, site: str, as_of: dt.datetime) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection), as_of=as_of, site=site)
        return lot_rows(connection, filters)


def _book_rows(engine: Engine, book: SiteBook, site: str, as_of: dt.datetime) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return book.site_rows(connection, site, as_of)


def _countable_rows(engine: Engine) -> int:
    """The quantity rows the book has to read: with a quantity, of a counting step, not a declaration."""
    with engine.connect() as connection:
        query = (
            select(func.count())
            .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
            .where(
                or_(TRANSFORMATION, events.c.biz_step.in_((*MOVEMENT_STEPS, "cycle_counting"))),
                QUANTITY.is_not(None),
                events.c.error_declaration.is_(False),
            )
        )
        return int(connection.scalar(query) or 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_site_book_equals_the_balance_lot_rows_on_random_ledgers(engine: Engine, seed: int) -> None:
    MasterData(engine).load(ledger_masterdata())
    ledger = RandomLedger(engine, seed)
    kept = SiteBook()
    compared = counted = withdrawn = 0
    for _ in range(4):
        ledger.add(3)
        for site in SITES:
            for as_of in MOMENTS:
                expected = _reference(engine, site, as_of)
                assert _book_rows(engine, kept, site, as_of) == expected, (site, as_of)
                compared += 1
                counted += sum(1 for row in expected if row["counted"] is not None)
        with engine.connect() as connection:
            withdrawn = len(withdrawn_hash_ids(connection))
    # A fresh book read in one go agrees with the one kept since the start.
    fresh = SiteBook()
    for site in SITES:
        assert _book_rows(engine, fresh, site, MOMENTS[-2]) == _book_rows(engine, kept, site, MOMENTS[-2])
    # The ledgers are not trivial, and each stored row was read once, however many questions were asked.
    assert compared == 4 * len(SITES) * len(MOMENTS)
    assert counted > 20 and withdrawn > 3
    assert kept.rows_read == fresh.rows_read == _countable_rows(engine)


def _decimal_ledger(engine: Engine, seed: int) -> list[str]:
    """One site, two lots, hundreds of movements with 3-decimal quantities (their sums depend on the order
    of addition), then a count of each lot; returns the site."""
    rng = random.Random(seed)
    site = "urn:epc:id:sgln:9520123.00007.0"  # invented
    classes = ["urn:vigichem:class:h2o2-30:D1", "urn:vigichem:class:h2o2-30:D2"]
    store = LedgerStore(engine)
    for day in range(6):
        batch = []
        for minute in range(60):
            moment = START + dt.timedelta(days=day, minutes=minute + rng.choice([0, 0, 0, -3000]))
            step, action = rng.choice(
                [("receiving", "OBSERVE"), ("commissioning", "ADD"), ("shipping", "OBSERVE")]
            )
            batch.append(
                {
                    "type": "ObjectEvent",
                    "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventTimeZoneOffset": "+00:00",
                    "action": action,
                    "bizStep": step,
                    "bizLocation": {"id": site},
                    "readPoint": {"id": site},
                    "quantityList": [
                        {
                            "epcClass": rng.choice(classes),
                            "quantity": rng.randrange(1, 10**6) / 1000,
                            "uom": "KGM",
                        }
                    ],
                }
            )
        for epc_class in classes:
            batch.append(
                {
                    "type": "ObjectEvent",
                    "eventTime": (START + dt.timedelta(days=day, hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventTimeZoneOffset": "+00:00",
                    "action": "OBSERVE",
                    "bizStep": "cycle_counting",
                    "bizLocation": {"id": site},
                    "quantityList": [{"epcClass": epc_class, "quantity": 1.5, "uom": "KGM"}],
                }
            )
        capture(store, _document(batch))
    return [site]


def test_sums_are_the_databases_own_where_the_order_of_addition_matters(
    engine: Engine, database_url: str
) -> None:
    """With decimal quantities the sums depend on the order of addition: on SQLite the book adds in the
    database's order and gives the same floats; PostgreSQL may add in another order (last bits only)."""
    (site,) = _decimal_ledger(engine, 7)
    book = SiteBook()
    for as_of in (START + dt.timedelta(days=2, hours=2), START + dt.timedelta(days=9)):
        expected = _reference(engine, site, as_of)
        found = _book_rows(engine, book, site, as_of)
        assert [row["counted"] for row in found] == [1.5, 1.5]
        if database_url.startswith("sqlite"):
            assert found == expected
        else:
            assert found == [
                {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in row.items()}
                for row in expected
            ]


def test_the_rule_reads_the_master_data_as_it_is_at_each_count(engine: Engine) -> None:
    """The stock-count rule keeps the balance's catalogue between counts, but not once the master data
    changed: a product's net content registered between two counts changes the lots as the balance does."""
    from tests.ledger.factories import H2O2_GTIN
    from vigichem.detect.engine import DetectionEngine
    from vigichem.detect.rules.inventory import TheftLoss
    from vigichem.ledger.balance import compute_balance
    from vigichem.ledger.masterdata_models import NetContent, Product

    masterdata = MasterData(engine)
    masterdata.load(ledger_masterdata())
    (rule,) = DetectionEngine(engine, only=["theft_loss"]).rules
    assert isinstance(rule, TheftLoss)
    RandomLedger(engine, 4).add(4)
    as_of = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    before = {site: rule._site_lots(engine, site, as_of) for site in SITES}
    assert before == {site: compute_balance(engine, site=site, as_of=as_of).lots for site in SITES}
    (h2o2,) = [p for p in masterdata.products() if p.gtin == H2O2_GTIN]
    changed = Product(
        id=h2o2.id,
        name=h2o2.name,
        gtin=h2o2.gtin,
        organisation=h2o2.organisation,
        composition=tuple({"substance": c.substance, "percent": c.percent} for c in h2o2.components),
        net_content=NetContent(value=20, uom="KGM"),
    )
    masterdata.register(products=[changed])
    after = {site: rule._site_lots(engine, site, as_of) for site in SITES}
    assert after == {site: compute_balance(engine, site=site, as_of=as_of).lots for site in SITES}
    assert after != before  # the change mattered (counts in items are converted through net content)


def test_driver_rows_are_sqlalchemys_rows(engine: Engine) -> None:
    # The book and the transit tracker read through the driver's cursor: the same rows as SQLAlchemy's
    # result, times included once read by stored_datetime (a bound IN list and a boolean literal too).
    from sqlalchemy import false

    from vigichem.detect.transit import driver_rows, stored_datetime

    MasterData(engine).load(ledger_masterdata())
    RandomLedger(engine, 4).add(3)
    query = (
        select(quantities.c.seq, quantities.c.ordinal, events.c.event_time, QUANTITY, events.c.biz_step)
        .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
        .where(
            quantities.c.seq > 2,
            events.c.biz_step.in_(MOVEMENT_STEPS),
            events.c.error_declaration == false(),
        )
        .order_by(quantities.c.seq, quantities.c.ordinal)
    )
    with engine.connect() as connection:
        expected = [tuple(row) for row in connection.execute(query)]
        found = [
            (seq, ordinal, stored_datetime(moment), qty, step)
            for seq, ordinal, moment, qty, step in driver_rows(connection, query, batch=7)
        ]
    assert len(expected) > 20 and found == expected
