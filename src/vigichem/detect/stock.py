"""The balance's lot rows of one site as of a moment, from a mirror of the ledger kept up to date by ``seq``.

The stock-count rule (:class:`~vigichem.detect.rules.inventory.TheftLoss`) confirms every suspicious count
with the ledger's own lot figures, :func:`vigichem.ledger.balance_sql.lot_rows` filtered on the count's site
and moment. That statement filters on ``coalesce(biz_location, read_point)``, which no index serves, so each
confirmation read the whole ledger, and the number of counts grows with the ledger too: a term that grows
with the square of the ledger. :class:`SiteBook` gives the same rows from memory:

* the quantity rows that the balance can count are read once each, by ``seq`` range (the ledger appends
  under a lock, so ``seq`` grows with every commit and nothing appears behind the last one read), in the
  order SQLite's aggregation meets them (``seq``, role, ordinal), and kept per (site, epcClass, unit) and
  per business step (event type, action, bizStep, role), as the balance groups them;
* each step keeps a running sum in that order, so a confirmation whose rows are all at or before the count
  and none withdrawn costs one addition per step of the site's lots, not a pass over the ledger; rows later
  than the moment asked (a history run, a late capture) or withdrawn by an error declaration are summed
  again from the kept values, in the same order;
* the folding into the balance's categories and the book stock at the last count are the balance's own
  (:func:`~vigichem.ledger.balance_sql.category_of`, the same expressions as ``lot_rows``).

The sums are plain left-to-right additions in the order SQLite adds (its ``sum()`` is not compensated
before 3.43 and its grouping sort keeps the scan order), so on SQLite the figures are the same floats.
PostgreSQL may add in another order (hash aggregation): the two can differ in the last bits there.
``tests/detect/test_stock.py`` compares this with ``lot_rows`` over random ledgers on both databases.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, false, or_, select

from vigichem.detect.transit import WithdrawnEvents, driver_rows, last_seq

__all__ = ["SiteBook"]

_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)

StepKey = tuple[str, str | None, str | None, str]  # (event type, action, bizStep, role), as lot_rows groups


def _micros(moment: dt.datetime) -> int:
    """A naive UTC moment as whole microseconds (exact; the ledger stores microseconds)."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(slots=True)
class _Step:
    """The rows of one business step of one lot, in the balance's summing order, with their running sum."""

    category: str
    times: array[int] = field(default_factory=lambda: array("q"))
    seqs: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    total: float = 0.0  # SQL sum() of every row so far: 0.0 then each value added in order
    earliest: int = 2**63 - 1  # the earliest and latest event times among the rows (microseconds)
    latest: int = -(2**63)

    def add(self, time: int, seq: int, value: float) -> None:
        """Append a row (rows come in the balance's summing order)."""
        self.times.append(time)
        self.seqs.append(seq)
        self.values.append(value)
        self.total += value
        self.earliest = min(self.earliest, time)
        self.latest = max(self.latest, time)

    def has_rows(self, as_of: int, excluded: Collection[int]) -> bool:
        """Whether a row is at or before ``as_of`` and not excluded (the balance then has a grouped row)."""
        if self.earliest > as_of:
            return False
        if not excluded:
            return True
        return any(t <= as_of and s not in excluded for t, s in zip(self.times, self.seqs, strict=True))

    def sums(self, as_of: int, count_time: int | None, excluded: Collection[int]) -> tuple[float, float]:
        """(sum up to ``as_of``, sum up to ``count_time``) of the rows not excluded, as SQL adds them."""
        if not excluded and self.latest <= as_of:
            if count_time is None:
                return self.total, 0.0
            if self.latest <= count_time:
                return self.total, self.total
        qty = before = 0.0
        for time, seq, value in zip(self.times, self.seqs, self.values, strict=True):
            if time > as_of or seq in excluded:
                continue
            qty += value
            if count_time is not None and time <= count_time:
                before += value
        return qty, before


@dataclass(slots=True)
class _Lot:
    """One (site, epcClass, unit) group: its steps (in the balance's grouping order) and its counts."""

    steps: dict[StepKey, _Step] = field(default_factory=dict)
    counts: list[tuple[int, int, int, dt.datetime, float]] = field(default_factory=list)
    # (time, seq, ordinal, event time, counted quantity) of each cycle count


def _step_order(key: StepKey) -> tuple[tuple[bool, str], ...]:
    """SQLite's GROUP BY order of the step columns: NULL first, then text in binary order."""
    return tuple((part is not None, part or "") for part in key)


class SiteBook:
    """The ledger's quantity rows grouped per site and lot, read by ``seq`` and kept between questions."""

    def __init__(self) -> None:
        self._sites: dict[str, dict[tuple[str, str], _Lot]] = {}
        self._last_seq = -1
        self.rows_read = 0
        self._declarations = WithdrawnEvents()
        self._withdrawn_seqs: dict[str, int] = {}  # withdrawn hash ID -> seq, once the event is stored

    def site_rows(self, connection: Connection, site: str, as_of: dt.datetime) -> list[dict[str, Any]]:
        """``lot_rows(connection, Filters(withdrawn events excluded, as_of=as_of, site=site))`` of the
        balance, for the ledger as stored now (``as_of``: naive UTC; ``site``: a location URI)."""
        # The last seq first: rows stored while these statements run are left for the next call.
        upto = last_seq(connection)
        withdrawn = self._declarations.refresh(connection, upto)
        self.refresh(connection, upto)
        return self.lot_rows(site, as_of, self._seqs_of(connection, withdrawn, upto))

    def _seqs_of(self, connection: Connection, hash_ids: Collection[str], upto: int) -> set[int]:
        """The seqs of the stored events among ``hash_ids`` (few: the withdrawn events)."""
        from vigichem.ledger.db import events

        known = self._withdrawn_seqs
        missing = sorted(h for h in hash_ids if h not in known)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            query = select(events.c.hash_id, events.c.seq).where(
                events.c.hash_id.in_(chunk), events.c.seq <= upto
            )
            for hash_id, seq in connection.execute(query):
                known[hash_id] = int(seq)
        return {known[h] for h in hash_ids if h in known}

    def refresh(self, connection: Connection, upto: int) -> None:
        """Read the countable quantity rows stored after the last call, up to ``upto`` (seq)."""
        from vigichem.ledger.balance_sql import (
            MOVEMENT_STEPS,
            QUANTITY,
            SITE,
            TRANSFORMATION,
            UNIT,
            category_of,
        )
        from vigichem.ledger.db import events, quantities

        after = self._last_seq
        if upto <= after:
            return
        query = (
            select(
                quantities.c.seq,
                quantities.c.ordinal,
                SITE,
                quantities.c.epc_class,
                UNIT,
                events.c.event_type,
                events.c.action,
                events.c.biz_step,
                quantities.c.role,
                events.c.event_time,
                QUANTITY,
            )
            .select_from(quantities.join(events, events.c.seq == quantities.c.seq))
            .where(
                quantities.c.seq > after,
                quantities.c.seq <= upto,
                or_(TRANSFORMATION, events.c.biz_step.in_((*MOVEMENT_STEPS, "cycle_counting"))),
                QUANTITY.is_not(None),
                events.c.error_declaration == false(),
            )
            .order_by(quantities.c.seq, quantities.c.role, quantities.c.ordinal)
        )
        sites = self._sites
        categories: dict[StepKey, str | None] = {}
        read = 0
        epoch = _EPOCH
        micro = _MICROSECOND
        parse = dt.datetime.fromisoformat
        # The driver's rows (driver_rows): the event time is SQLite's stored text or PostgreSQL's datetime.
        for (
            seq,
            ordinal,
            site,
            epc_class,
            unit,
            event_type,
            action,
            biz_step,
            role,
            moment,
            qty,
        ) in driver_rows(connection, query):
            read += 1
            if site is None:
                continue  # the balance leaves a row without a site out
            key = (event_type, action, biz_step, role)
            if key in categories:
                category = categories[key]
            else:
                category = categories[key] = category_of(event_type, action, biz_step, role)
            if category is None:
                continue
            lots = sites.get(site)
            if lots is None:
                lots = sites[site] = {}
            lot = lots.get((epc_class, unit))
            if lot is None:
                lot = lots[(epc_class, unit)] = _Lot()
            if moment.__class__ is str:
                moment = parse(moment)
            time = (moment - epoch) // micro  # _micros(moment), inline: once per row read
            if category == "counted":
                lot.counts.append((time, int(seq), int(ordinal), moment, float(qty)))
                continue
            step = lot.steps.get(key)
            if step is None:
                step = lot.steps[key] = _Step(category)
                lot.steps = dict(sorted(lot.steps.items(), key=lambda item: _step_order(item[0])))
            step.add(time, int(seq), float(qty))
        self._last_seq = upto
        self.rows_read += read

    def lot_rows(self, site: str, as_of: dt.datetime, excluded: Collection[int] = ()) -> list[dict[str, Any]]:
        """The rows of :func:`~vigichem.ledger.balance_sql.lot_rows` for ``Filters(site=site, as_of=as_of)``
        with the events of seq in ``excluded`` left out (the withdrawn ones), from the rows read so far.

        ``as_of``: naive UTC. Rows are sorted by (site, epcClass, unit), as the balance sorts them.
        """
        from vigichem.ledger.balance_sql import SIGN

        limit = _micros(as_of)
        rows = []
        for (epc_class, unit), lot in sorted(self._sites.get(site, {}).items()):
            last = None
            for count in lot.counts:
                if count[0] <= limit and count[1] not in excluded and (last is None or count[:3] > last[:3]):
                    last = count
            count_time = None if last is None else last[0]
            totals: dict[str, float] | None = None
            before = dict.fromkeys(SIGN, 0.0)
            for step in lot.steps.values():
                if not step.has_rows(limit, excluded):
                    continue  # no row of this step in the balance's filtered rows: no grouped row either
                qty, up_to_count = step.sums(limit, count_time, excluded)
                if totals is None:
                    totals = dict.fromkeys(SIGN, 0.0)
                totals[step.category] += qty
                before[step.category] += up_to_count
            if totals is None and last is None:
                continue
            sums = totals or dict.fromkeys(SIGN, 0.0)
            rows.append(
                {
                    "site": site,
                    "epc_class": epc_class,
                    "unit": unit,
                    **{name: sums[name] for name in SIGN if name != "counted"},
                    "counted": last[4] if last else None,
                    "counted_at": last[3] if last else None,
                    # The balance's own expression, in its order (Python's sum() over the categories).
                    "expected_at_count": sum(before[name] * sign for name, sign in SIGN.items())
                    if last
                    else None,
                }
            )
        return rows
