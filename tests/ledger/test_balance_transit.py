"""The transit check from the roll-up equals the reference pairing, on both databases.

Ledgers are **invented** and randomized from fixed seeds (no real operator): shipments between a few sites
(some with two quantity elements, some of the same class twice, some without a destination, some with a
readPoint only), receipts of them (whole, short, over, missing, in another unit, or ``DELETE`` which is not
a receipt), events captured out of time order (so that stored ranks must move), other steps that do not
count, and corrections by ``errorDeclaration`` (with and without a corrective event). Quantities are
multiples of 1/4, so that every total is exact whatever order the database or the roll-up adds in, and
the two paths must agree exactly. Balances are taken between captures, so the roll-up is refreshed many
times (re-ranking the groups that late events land in).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from tests.ledger.factories import (
    DE_LOCATION,
    H2O2_GTIN,
    PLANT_LOCATION,
    STORE_LOCATION,
    TEA_GTIN,
    masterdata,
)
from vigichem.ledger.balance import compute_balance, transit_issues, withdrawn_hash_ids
from vigichem.ledger.balance_models import TransitIssue, new_transit_issue
from vigichem.ledger.balance_rollup import rollup_covers, withdrawn_seqs
from vigichem.ledger.balance_sql import Filters, transit_rows
from vigichem.ledger.balance_tables import (
    balance_counts,
    balance_declarations,
    balance_groups,
    balance_rows,
    balance_state,
    balance_totals,
    transit_candidates,
    transit_totals,
)
from vigichem.ledger.balance_tables import (
    transit_rows as transit_table,
)
from vigichem.ledger.balance_transit import rollup_transit_rows
from vigichem.ledger.db import events
from vigichem.ledger.extensions import with_context
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.rollup import refresh_rollup
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore

START = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
LATE = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
UNREGISTERED = "urn:epc:id:sgln:9520123.00001.0"  # invented, not registered
SITES = [PLANT_LOCATION, STORE_LOCATION, DE_LOCATION, UNREGISTERED]
CLASSES = [
    f"https://id.gs1.org/01/{H2O2_GTIN}/10/L1",
    f"https://id.gs1.org/01/{H2O2_GTIN}/10/L2",
    f"https://id.gs1.org/01/{TEA_GTIN}/10/A",
]
UNITS = ["KGM", "KGM", "TNE", None]


def _time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class RandomShipments:
    """Seeded random shipments, receipts, other movements and corrections, captured document by document."""

    def __init__(self, engine: Engine, seed: int) -> None:
        self.store = LedgerStore(engine)
        self.rng = random.Random(seed)
        self.open: list[dict[str, Any]] = []  # shipments not received yet
        self.captured: list[dict[str, Any]] = []
        self.day = 0.0

    def _element(self, epc_class: str | None = None) -> dict[str, Any]:
        element: dict[str, Any] = {
            "epcClass": epc_class or self.rng.choice(CLASSES),
            "quantity": self.rng.randrange(1, 400) / 4,
        }
        unit = self.rng.choice(UNITS)
        if unit:
            element["uom"] = unit
        return element

    def _shipment(self) -> dict[str, Any]:
        rng = self.rng
        origin, destination = rng.sample(SITES, 2)
        # Often behind the current day: a late capture lands before rows already ranked.
        moment = START + dt.timedelta(days=self.day + rng.choice([0, 0, 0, -3, -8]) + rng.random())
        elements = [self._element()]
        draw = rng.random()
        if draw < 0.15:
            elements.append(self._element())
        elif draw < 0.25:
            elements.append(self._element(elements[0]["epcClass"]))  # the same class twice in one event
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": _time(moment),
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "bizStep": "shipping",
            "readPoint": {"id": origin},
            "quantityList": elements,
        }
        if rng.random() < 0.8:
            event["bizLocation"] = {"id": origin}
        if rng.random() < 0.9:
            event["destinationList"] = [{"type": "location", "destination": destination}]
        return event

    def _receipt(self, shipment: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        site = shipment.get("destinationList", [{"destination": rng.choice(SITES)}])[0]["destination"]
        elements = []
        for element in shipment["quantityList"]:
            draw = rng.random()
            if draw < 0.1:
                continue  # this element never arrives
            received = dict(element)
            if draw < 0.2:
                received["quantity"] = max(0.25, element["quantity"] - rng.randrange(1, 20) / 4)  # short
            elif draw < 0.25:
                received["quantity"] = element["quantity"] + 0.25  # over
            elif draw < 0.3:
                received["uom"] = "TNE" if element.get("uom") != "TNE" else "KGM"  # another unit
            elements.append(received)
        if not elements:
            return None
        shipped_at = dt.datetime.fromisoformat(shipment["eventTime"].replace("Z", "+00:00"))
        return {
            "type": "ObjectEvent",
            "eventTime": _time(shipped_at + dt.timedelta(days=rng.uniform(0, 12))),
            "eventTimeZoneOffset": "+00:00",
            "action": rng.choice(["OBSERVE"] * 5 + ["DELETE"]),  # DELETE: not a receipt
            "bizStep": "receiving",
            "readPoint": {"id": site},
            "bizLocation": {"id": site},
            "quantityList": elements,
        }

    def add(self, documents: int, events_per_document: int = 10) -> None:
        """Capture ``documents`` documents; about one event in twelve withdraws an earlier one."""
        rng = self.rng
        for _ in range(documents):
            batch: list[dict[str, Any]] = []
            for _ in range(events_per_document):
                draw = rng.random()
                if draw < 0.42:
                    shipment = self._shipment()
                    self.open.append(shipment)
                    batch.append(shipment)
                elif draw < 0.8 and self.open:
                    receipt = self._receipt(self.open.pop(rng.randrange(len(self.open))))
                    if receipt is not None:
                        batch.append(receipt)
                elif draw < 0.88 and self.captured:
                    wrong = rng.choice(self.captured)
                    batch.append(
                        {
                            **wrong,
                            "errorDeclaration": {
                                "declarationTime": _time(START + dt.timedelta(days=self.day)),
                                "reason": "incorrect_data",
                            },
                        }
                    )
                    if rng.random() < 0.5 and "quantityList" in wrong:  # a corrective event
                        fixed = [{**e, "quantity": e["quantity"] + 0.5} for e in wrong["quantityList"]]
                        batch.append({**wrong, "quantityList": fixed})
                else:
                    other = self._shipment()
                    batch.append({**other, "bizStep": rng.choice(["retail_selling", "inspecting"])})
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


@pytest.fixture
def registered(engine: Engine) -> Engine:
    """The invented master data of factories.py."""
    MasterData(engine).load(masterdata())
    return engine


def _issues_both_ways(engine: Engine, as_of: dt.datetime, days: float, site: str | None = None) -> Any:
    """(roll-up issues, reference issues) of the transit check alone, in one read."""
    refresh_rollup(engine)
    moment = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    with engine.connect() as connection:
        assert rollup_covers(connection, moment)  # no later event: what the roll-up answers
        excluded = withdrawn_hash_ids(connection)
        filters = Filters(excluded_hash_ids=excluded, as_of=moment, site=site)
        fast = rollup_transit_rows(connection, filters, withdrawn_seqs(connection, excluded))
        reference = transit_rows(connection, filters)
    return transit_issues(fast, moment, days), transit_issues(reference, moment, days)


def _latest(engine: Engine) -> dt.datetime:
    with engine.connect() as connection:
        latest = connection.scalar(select(func.max(events.c.event_time)))
    assert isinstance(latest, dt.datetime)
    return latest.replace(tzinfo=dt.UTC)


def _rolled_up(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(balance_state.c.next_seq)) or 0)


def _log_size(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(events)) or 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_rollup_transit_equals_the_reference_on_random_ledgers(registered: Engine, seed: int) -> None:
    ledger = RandomShipments(registered, seed)
    kinds: set[str] = set()
    for _ in range(6):
        ledger.add(3)
        # Receipts are dated up to 12 days after their shipment: the latest event's time, plus a day.
        now = _latest(registered) + dt.timedelta(days=1)
        for days in (0.0, 3.0, 14.0):
            fast, reference = _issues_both_ways(registered, now, days)
            assert fast == reference
            kinds.update(issue.kind for issue in fast)
        fast_report = compute_balance(registered, as_of=now, rollup=True).as_dict()
        assert _rolled_up(registered) == _log_size(registered)  # the roll-up answered, not the fallback
        assert fast_report == compute_balance(registered, as_of=now, rollup=False).as_dict()
    assert kinds == {"not_received", "quantity_mismatch"}
    report = compute_balance(registered, as_of=LATE)
    assert report.excluded_events > 0 and len(report.transit) > 10
    for options in (
        {"site": "plant"},
        {"site": STORE_LOCATION},
        {"site": UNREGISTERED},
        {"sites": [PLANT_LOCATION, DE_LOCATION]},
        {"sites": [UNREGISTERED]},
        {"transit_days": 0.0},
        {"transit_days": 400.0},
    ):
        fast_report = compute_balance(registered, as_of=LATE, rollup=True, **options).as_dict()
        assert fast_report == compute_balance(registered, as_of=LATE, rollup=False, **options).as_dict(), (
            options
        )
    for site in (PLANT_LOCATION, UNREGISTERED):
        fast, reference = _issues_both_ways(registered, LATE, 14.0, site=site)
        assert fast == reference and fast


def _stored_transit(engine: Engine) -> list[tuple[Any, ...]]:
    """The transit roll-up's rows and totals, keyed by group (site, class, unit) instead of group ids."""
    with engine.connect() as connection:
        keys = {
            r.id: (r.site, r.epc_class, r.unit)
            for r in connection.execute(select(balance_groups))  # ids depend on the refreshes' order
        }
        rows = [
            (
                r.seq,
                r.ordinal,
                r.side,
                keys[r.group_id],
                keys.get(r.origin_group_id),
                r.event_time,
                r.qty,
                r.rank,
            )
            for r in connection.execute(select(transit_table))
        ]
        totals = [(keys[r.group_id], r.qty, r.rows) for r in connection.execute(select(transit_totals))]
        candidates = [
            (keys[r.group_id], r.rank, r.seq, r.ordinal, keys.get(r.origin_group_id), *tuple(r)[5:])
            for r in connection.execute(select(transit_candidates))
        ]
    return sorted(rows) + sorted(totals) + sorted(candidates, key=repr)


def _rebuild(engine: Engine) -> None:
    """Empty the roll-up (derived data) and roll up the whole ledger again in one refresh."""
    with engine.begin() as connection:
        for table in (
            transit_candidates,
            transit_table,
            transit_totals,
            balance_declarations,
            balance_counts,
            balance_totals,
            balance_rows,
            balance_groups,
        ):
            connection.execute(delete(table))
        connection.execute(update(balance_state).values(next_seq=0))
    refresh_rollup(engine)


def test_incremental_ranks_and_pairings_equal_a_rebuild(registered: Engine) -> None:
    """Refreshed after every document (late events re-rank their groups), the stored ranks and candidate
    pairs are those of one refresh of the whole ledger."""
    ledger = RandomShipments(registered, 7)
    for _ in range(12):
        ledger.add(1, events_per_document=7)
        refresh_rollup(registered)
    incremental = _stored_transit(registered)
    _rebuild(registered)
    assert _stored_transit(registered) == incremental
    # Not trivial: late rows took ranks before earlier-captured ones; candidates of both kinds.
    per_side: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    for row in incremental:
        if len(row) == 8:  # a transit row: (seq, ordinal, side, group, origin, time, qty, rank)
            per_side.setdefault((row[3], row[2]), []).append((row[0], row[7]))
    assert all(sorted(r for _, r in ranked) == list(range(len(ranked))) for ranked in per_side.values())
    assert any(sorted(ranked) != sorted(ranked, key=lambda item: item[1]) for ranked in per_side.values())
    candidates = [row for row in incremental if len(row) == 11]
    assert any(row[-1] is None for row in candidates) and any(row[-1] is not None for row in candidates)


def test_concurrent_refreshers_keep_the_transit_rollup_exact(registered: Engine) -> None:
    ledger = RandomShipments(registered, 21)
    ledger.add(2)
    refresh_rollup(registered)
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
    ledger.add(4, events_per_document=8)  # captures while the refreshers run
    for thread in threads:
        thread.join()
    assert errors == []
    refresh_rollup(registered)
    concurrent = _stored_transit(registered)
    fast, reference = _issues_both_ways(registered, LATE, 14.0)
    assert fast == reference and fast
    _rebuild(registered)
    assert _stored_transit(registered) == concurrent


def test_a_past_as_of_answers_transit_from_the_reference(registered: Engine) -> None:
    ledger = RandomShipments(registered, 5)
    ledger.add(4)
    moment = START + dt.timedelta(days=ledger.day / 2)
    fast = compute_balance(registered, as_of=moment).as_dict()
    assert fast == compute_balance(registered, as_of=moment, rollup=False).as_dict()
    assert fast["transit"] and _rolled_up(registered) == 0  # later events exist: nothing rolled up


def test_new_transit_issue_equals_the_dataclass_constructor() -> None:
    shipped_at, received_at = dt.datetime(2026, 3, 1, 8), dt.datetime(2026, 3, 4, 20)
    lost = TransitIssue(
        "not_received", "urn:c", "urn:o", "urn:d", shipped_at, 12.5, "kg", "ni:s", None, None, None, 20.5
    )
    short = TransitIssue(
        "quantity_mismatch",
        "urn:c",
        None,
        "urn:d",
        shipped_at,
        12.5,
        "L",
        "ni:s",
        received_at,
        12.0,
        "ni:r",
        3.5,
    )
    for plain in (lost, short):
        fast = new_transit_issue(*(getattr(plain, field.name) for field in dataclasses.fields(plain)))
        assert type(fast) is TransitIssue and fast == plain and hash(fast) == hash(plain)
        assert fast.as_dict() == plain.as_dict() and repr(fast) == repr(plain)
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.kind = "not_received"  # type: ignore[misc]
