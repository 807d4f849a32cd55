"""The state the rules read: per party, per delivery reference and per customer type, over time windows.

The state is kept incrementally: :meth:`DetectionState.observe` adds one event's facts. Streaming detection
observes each event as it is captured; a history run (``detect --since``) rebuilds the same state by
replaying the ledger's events in time order from ``since`` minus the longest window (see
:mod:`vigichem.detect.engine`), so the same rule code runs both ways. Rules read the state *before* the
event they check is observed, so "history" never includes the purchase being judged.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass

from vigichem.detect.facts import EventFacts

__all__ = ["DetectionState", "Purchase"]

OWN_HISTORY_KEPT = 50
TYPE_HISTORY_KEPT = 400


@dataclass(frozen=True, slots=True)
class Purchase:
    """A past sale as the windowed rules need it."""

    hash_id: str
    time: dt.datetime
    site: str | None
    customer_type: str | None
    regulated_kg: dict[str, float]


class DetectionState:
    """Windowed aggregates of past sales; ``horizon_days``: how long a purchase is kept for the windows."""

    def __init__(self, horizon_days: float = 90.0) -> None:
        self.horizon = dt.timedelta(days=horizon_days)
        self._purchases: dict[str, deque[Purchase]] = defaultdict(deque)
        self._own: dict[tuple[str, str], deque[float]] = defaultdict(lambda: deque(maxlen=OWN_HISTORY_KEPT))
        self._by_type: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._delivery: dict[str, dict[str, tuple[dt.datetime, str]]] = defaultdict(dict)
        self._alerted: dict[tuple[str, str, str, str | None], dt.datetime] = {}
        self._shortfalls: dict[tuple[str, str], float] = {}
        self._book: dict[tuple[str, str, str], float] = {}
        self.observed = 0

    # ---- updating -------------------------------------------------------------------------------------
    def observe(self, facts: EventFacts) -> None:
        """Add an event's movements to the running book stock, and a sale's facts to the windows."""
        if facts.site is not None:
            for epc_class, unit, delta in facts.book:
                key = (facts.site, epc_class, unit)
                self._book[key] = self._book.get(key, 0.0) + delta
        if facts.kind != "sale":
            return
        self.observed += 1
        regulated = facts.regulated_kg()
        if facts.party_ref:
            queue = self._purchases[facts.party_ref]
            queue.append(
                Purchase(facts.hash_id, facts.event_time, facts.site, facts.customer_type, regulated)
            )
            self._expire(queue, facts.event_time)
            for product, amount in _product_amounts(facts).items():
                self._own[(facts.party_ref, product)].append(amount)
                if facts.customer_type:
                    self._add_type_amount((facts.customer_type, product), amount)
            if facts.delivery_ref:
                self._delivery[facts.delivery_ref][facts.party_ref] = (facts.event_time, facts.hash_id)

    def _add_type_amount(self, key: tuple[str, str], amount: float) -> None:
        values = self._by_type[key]
        bisect.insort(values, amount)
        if len(values) > TYPE_HISTORY_KEPT:
            # Keep a sorted sample: drop alternately from both ends so the median stays put.
            values.pop(0 if len(values) % 2 else -1)

    def _expire(self, queue: deque[Purchase], now: dt.datetime) -> None:
        while queue and now - queue[0].time > self.horizon:
            queue.popleft()

    # ---- reading --------------------------------------------------------------------------------------
    def purchases(self, party: str, since: dt.datetime) -> list[Purchase]:
        """The party's kept purchases at or after ``since``, oldest first."""
        return [p for p in self._purchases.get(party, ()) if p.time >= since]

    def purchase_count(self, party: str) -> int:
        """How many purchases of the party are kept (within the horizon, whatever the window asked):
        an upper bound of what :meth:`purchases` gives, read without building a list."""
        queue = self._purchases.get(party)
        return len(queue) if queue else 0

    def own_amounts(self, party: str, product: str) -> list[float]:
        """The party's past amounts of one product (most recent :data:`OWN_HISTORY_KEPT`)."""
        return list(self._own.get((party, product), ()))

    def type_median(self, customer_type: str, product: str) -> tuple[float | None, int]:
        """Median amount of one product bought by one customer type, and how many purchases it rests on."""
        values = self._by_type.get((customer_type, product))
        if not values:
            return None, 0
        # statistics.median's own steps on a list that is kept sorted (it would sort a copy first).
        n = len(values)
        middle = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
        return middle, n

    def delivery_parties(self, delivery_ref: str, since: dt.datetime) -> dict[str, tuple[dt.datetime, str]]:
        """Parties with deliveries to ``delivery_ref`` at or after ``since``: party → (time, hash ID)."""
        return {p: v for p, v in self._delivery.get(delivery_ref, {}).items() if v[0] >= since}

    def book_stock(self, site: str, epc_class: str, unit: str) -> float:
        """The running book stock of a lot at a site (movements observed so far, in the lot's base unit)."""
        return self._book.get((site, epc_class, unit), 0.0)

    def last_shortfall(self, site: str, epc_class: str, now: float) -> float:
        """The shortfall (book minus counted) at the lot's previous count (0 at first); records ``now``."""
        previous = self._shortfalls.get((site, epc_class), 0.0)
        self._shortfalls[(site, epc_class)] = now
        return max(0.0, previous)

    # ---- alert cooldown -------------------------------------------------------------------------------
    def recently_alerted(
        self, rule: str, subject: tuple[str, str], detail: str | None, now: dt.datetime, days: float
    ) -> bool:
        """True when the rule alerted on this subject (and detail) less than ``days`` before ``now``."""
        last = self._alerted.get((rule, subject[0], subject[1], detail))
        return last is not None and now - last < dt.timedelta(days=days)

    def mark_alerted(self, rule: str, subject: tuple[str, str], detail: str | None, now: dt.datetime) -> None:
        """Remember an alert so that the same pattern does not alert again within the cooldown."""
        self._alerted[(rule, subject[0], subject[1], detail)] = now


def _product_amounts(facts: EventFacts) -> dict[str, float]:
    """Amount per product key of a sale: kg when convertible, else the quantity as captured."""
    amounts: dict[str, float] = {}
    for line in facts.lines:
        key = line.product_id or line.epc_class
        amount = line.kg if line.kg is not None else line.quantity
        amounts[key] = amounts.get(key, 0.0) + amount
    return amounts


def product_amounts(facts: EventFacts) -> dict[str, float]:
    """Public alias of the per-product amounts of a sale (used by the quantity rule)."""
    return _product_amounts(facts)
