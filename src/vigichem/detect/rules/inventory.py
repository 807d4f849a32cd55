"""Ledger rules: theft or loss (a stock count below the book balance) and shipments not received or short.

They reuse the ledger's balance (:func:`vigichem.ledger.balance.compute_balance`): book stock as of a count,
and the transit pairing of shipments with receipts (``docs/balance.md``). Basis: EU 2019/1148 Art. 9(2)
(significant disappearances and thefts, reported within 24 hours) and Guidelines Section V.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, select

from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts
from vigichem.detect.facts import book_unit as _book_unit
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import LedgerRule, RuleFinding
from vigichem.detect.stock import SiteBook
from vigichem.detect.transit import TransitTracker, driver_rows

__all__ = ["ShipmentNotReceived", "ShipmentShort", "TheftLoss"]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class TheftLoss(LedgerRule):
    """A cycle count below the expected (book) balance by more than a tolerance."""

    name = "theft_loss"
    typology = "theft_loss"
    scope = Scope.OPERATOR
    event_kinds = frozenset({"count"})
    numbers = ("tolerance_fraction", "tolerance_kg")

    _book: tuple[Engine, SiteBook] | None = None
    _catalogues: tuple[Engine, tuple[Any, ...], Any] | None = None

    def cooldown_days(self) -> float:
        """Every count is its own evidence; alerts are de-duplicated by fingerprint only."""
        return 0.0

    def on_event(self, engine: Engine, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """On a stock count: compare each counted lot with its book stock as of the count.

        The running book of the state screens every count cheaply; a shortfall is confirmed with the
        ledger's balance (:func:`~vigichem.ledger.balance.compute_balance`, which also honours corrections)
        before it alerts. A count does not reset the book stock (docs/balance.md), so a loss stays in every
        later count's discrepancy: only the growth of the shortfall since the lot's previous count is new.
        """
        if facts.kind != "count" or not facts.site:
            return []
        suspects: dict[str, float] = {}
        for line in facts.lines:
            unit, counted = _book_unit(line.quantity, line.uom)
            book = state.book_stock(facts.site, line.epc_class, unit)
            shortfall = book - counted
            previous = state.last_shortfall(facts.site, line.epc_class, shortfall)
            if shortfall - previous > self._tolerance(book):
                suspects[line.epc_class] = previous
        if not suspects:
            return []
        findings = []
        for lot in self._site_lots(engine, facts.site, facts.event_time):
            movements = lot.movements
            if lot.epc_class not in suspects or movements.counted is None:
                continue
            expected = movements.expected_at_count or 0.0
            missing = expected - movements.counted - suspects[lot.epc_class]
            if missing <= self._tolerance(expected):
                continue
            findings.append(
                RuleFinding(
                    subject_type=SubjectType.SITE,
                    subject_id=lot.site,
                    event_hash_ids=(facts.hash_id,),
                    first_event_time=facts.event_time,
                    last_event_time=facts.event_time,
                    fired_at=facts.event_time,
                    explanation=f"stock count of {lot.product_id or lot.epc_class} lot {lot.lot or '-'}: "
                    f"{movements.counted:.6g} {lot.unit} counted, {expected:.6g} {lot.unit} expected, "
                    f"{missing:.6g} {lot.unit} newly missing",
                    evidence={
                        "epc_class": lot.epc_class,
                        "counted": movements.counted,
                        "expected": expected,
                        "missing": round(missing, 6),
                        "unit": lot.unit,
                    },
                )
            )
        return findings

    def _site_lots(self, engine: Engine, site: str, as_of: dt.datetime) -> list[Any]:
        """The lots of :func:`~vigichem.ledger.balance.compute_balance` for one site as of a moment.

        The same steps as the balance (withdrawn events left out, the lot rows of the site, lots merged
        through the master data), without what this rule does not read: the transit check of the whole
        ledger and the substance figures. The site's rows come from a :class:`~vigichem.detect.stock.SiteBook`
        that reads each stored row once (the balance's statement reads the whole ledger at every count).
        """
        from vigichem.ledger.balance import lot_balances

        if self._book is None or self._book[0] is not engine:
            self._book = (engine, SiteBook())
        moment = as_of.astimezone(dt.UTC).replace(tzinfo=None)
        with engine.connect() as connection:
            catalogue = self._catalogue(engine, connection)
            location = catalogue.site_location(site)
            rows = self._book[1].site_rows(connection, location, moment)
        return list(lot_balances(rows, catalogue))

    def _catalogue(self, engine: Engine, connection: Connection) -> Any:
        """The balance's catalogue of the master data as it is now, as the balance reads it at each call.

        Building it reads and converts every organisation, site and product (30 ms with the 1,452 sites of
        a 1M-event simulation); it is rebuilt only when the rows it maps lots and sites from (sites and
        products with their components and findings) differ from those it was built from.
        """
        from vigichem.ledger import inventory_tables as t
        from vigichem.ledger.balance import _Catalogue
        from vigichem.ledger.masterdata import MasterData

        tables = (t.sites, t.products, t.product_components, t.product_findings)
        # The stored values as the driver gives them (driver_rows: no SQLAlchemy row processing; equal
        # stored values read equal either way, so the comparison finds the same changes).
        rows = tuple(
            tuple(driver_rows(connection, select(table).order_by(*table.primary_key.columns)))
            for table in tables
        )
        cached = self._catalogues
        if cached is None or cached[0] is not engine or cached[1] != rows:
            cached = self._catalogues = (engine, rows, _Catalogue(MasterData(engine)))
        return cached[2]

    def _tolerance(self, expected: float) -> float:
        return max(self.params["tolerance_kg"], self.params["tolerance_fraction"] * abs(expected))


def _transit_issues(engine: Engine, as_of: dt.datetime, days: float) -> list[Any]:
    """The balance's transit check alone (:func:`vigichem.ledger.balance.transit_issues`), without the lot
    and substance aggregation that a full :func:`~vigichem.ledger.balance.compute_balance` also runs."""
    from vigichem.ledger.balance import transit_issues, withdrawn_hash_ids
    from vigichem.ledger.balance_sql import Filters, transit_rows

    moment = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    with engine.connect() as connection:
        filters = Filters(excluded_hash_ids=withdrawn_hash_ids(connection), as_of=moment)
        rows = transit_rows(connection, filters)
    return list(transit_issues(rows, moment, days))


class _TransitRule(LedgerRule):
    kind = ""
    event_kinds = frozenset[str]()  # judged by scan() only

    def cooldown_days(self) -> float:
        return 0.0

    def scan(
        self, engine: Engine, as_of: dt.datetime, since: dt.datetime | None, shared: dict[str, Any]
    ) -> list[RuleFinding]:
        """Transit issues of the balance as of ``as_of`` for shipments from ``since``."""
        days = self.params.get("transit_days", 14.0)
        key = f"transit:{days}"
        if key not in shared:
            # The engine's tracker keeps the transit rows between scans (detect/transit.py); without one,
            # the balance's check over the whole ledger.
            tracker = shared.get("transit_tracker")
            if isinstance(tracker, TransitTracker):
                shared[key] = tracker.issues(as_of, days)
            else:
                shared[key] = _transit_issues(engine, as_of, days)
        findings = []
        for issue in shared[key]:
            shipped_at = _aware(issue.shipped_at)
            if issue.kind != self.kind or (since is not None and shipped_at < since):
                continue
            finding = self._finding(issue, shipped_at, days)
            if finding is not None:
                findings.append(finding)
        return findings

    def _finding(self, issue: object, shipped_at: dt.datetime, days: float) -> RuleFinding | None:
        raise NotImplementedError


class ShipmentNotReceived(_TransitRule):
    """A shipment with no receipt within ``transit_days`` of shipping."""

    name = "shipment_not_received"
    typology = "shipment_not_received"
    scope = Scope.AUTHORITY
    numbers = ("transit_days",)
    kind = "not_received"

    def _finding(self, issue: object, shipped_at: dt.datetime, days: float) -> RuleFinding | None:
        from vigichem.ledger.balance_models import TransitIssue

        assert isinstance(issue, TransitIssue)
        return RuleFinding(
            subject_type=SubjectType.SHIPMENT,
            subject_id=issue.shipment_event,
            event_hash_ids=(issue.shipment_event,),
            first_event_time=shipped_at,
            last_event_time=shipped_at,
            fired_at=shipped_at + dt.timedelta(days=days),
            explanation=f"shipment of {issue.shipped_quantity:g} {issue.unit} of {issue.epc_class} to "
            f"{issue.destination} not received {issue.days_in_transit:g} days after shipping "
            f"(allowed {days:g})",
            evidence={
                "destination": issue.destination,
                "origin": issue.origin,
                "shipped_quantity": issue.shipped_quantity,
                "unit": issue.unit,
                "days_in_transit": issue.days_in_transit,
                "transit_days": days,
            },
        )


class ShipmentShort(_TransitRule):
    """A receipt of less than was shipped (beyond a relative tolerance)."""

    name = "shipment_short"
    typology = "shipment_short"
    scope = Scope.AUTHORITY
    numbers = ("tolerance_fraction",)
    kind = "quantity_mismatch"

    def _finding(self, issue: object, shipped_at: dt.datetime, days: float) -> RuleFinding | None:
        from vigichem.ledger.balance_models import TransitIssue

        assert isinstance(issue, TransitIssue)
        received = issue.received_quantity or 0.0
        missing = issue.shipped_quantity - received
        if missing <= self.params["tolerance_fraction"] * issue.shipped_quantity:
            return None  # received more than shipped, or within tolerance: not a loss
        received_at = _aware(issue.received_at) if issue.received_at else shipped_at
        hashes = tuple(h for h in (issue.shipment_event, issue.receipt_event) if h)
        return RuleFinding(
            subject_type=SubjectType.SHIPMENT,
            subject_id=issue.shipment_event,
            event_hash_ids=hashes,
            first_event_time=shipped_at,
            last_event_time=received_at,
            fired_at=received_at,
            explanation=f"shipment of {issue.shipped_quantity:g} {issue.unit} of {issue.epc_class} received "
            f"short: {received:g} {issue.unit} ({missing:g} missing)",
            evidence={
                "destination": issue.destination,
                "shipped_quantity": issue.shipped_quantity,
                "received_quantity": received,
                "missing": round(missing, 6),
                "unit": issue.unit,
            },
        )
