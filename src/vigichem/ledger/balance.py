"""Mass balance of the ledger: per site × product × lot, per site × substance, transit, CWC aggregates.

The figures come from SQL aggregation over ``ledger_quantities`` (:mod:`vigichem.ledger.balance_sql`);
Python only maps each epcClass to its product and lot, converts counts (``EA``) through a product's net
content, spreads products over their substances by % w/w, and pairs shipments with receipts.
``docs/balance.md`` states exactly how each business step counts. In short:

* in = produced (ObjectEvent ADD ``commissioning``; TransformationEvent outputs) + received (``receiving``)
* out = shipped (``shipping``) + sold (``retail_selling``, ``dispensing``)
* consumed = TransformationEvent inputs; destroyed = ObjectEvent DELETE ``destroying``
* expected (book stock) = in − out − consumed − destroyed
* counted = the last ``cycle_counting`` quantity; discrepancy = counted − book stock at the time of that count

**Corrections.** An event withdrawn by an error declaration (an event with ``errorDeclaration`` whose hash
ID, computed without it as CBV 2.0 does, or whose ``eventID`` names a stored event) does not count, and the
declaration itself does not count either; the corrective events are ordinary events and count once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger.balance_models import (
    BalanceReport,
    CwcAggregate,
    LotBalance,
    Movements,
    SubstanceBalance,
    TransitIssue,
)
from vigichem.ledger.balance_rollup import declarations, rollup_covers, rollup_lot_rows, withdrawn_seqs
from vigichem.ledger.balance_sql import Filters, declared_errors, lot_rows, transit_rows
from vigichem.ledger.balance_tables import group_keys
from vigichem.ledger.balance_transit import MISMATCH_TOLERANCE, rollup_transit_issues, transit_issue
from vigichem.ledger.db import events, is_postgresql
from vigichem.ledger.gs1 import parse_epc_class
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import RegisteredProduct
from vigichem.ledger.rollup import refresh_rollup
from vigichem.ledger.verify_support import gc_paused

DEFAULT_TRANSIT_DAYS = 14.0


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def withdrawn_hash_ids(
    connection: Connection, declared: Iterable[tuple[str, str]] | None = None
) -> list[str]:
    """Hash IDs of events that an error declaration withdrew (see the module docstring).

    ``declared``: the declarations' (event JSON, context JSON), when the caller has them (the roll-up
    keeps their ``seq``); by default every stored declaration is read.
    """
    from vigichem.ledger.hashid import event_hash_id, namespaces_from_context

    withdrawn: set[str] = set()
    for event_json, context_json in declared_errors(connection) if declared is None else declared:
        event = json.loads(event_json)
        if isinstance(event.get("eventID"), str):
            withdrawn.add(event["eventID"])
        # CBV 2.0 leaves errorDeclaration out of the hash: the declaration's CBV hash is the original's.
        plain = {key: value for key, value in event.items() if key != "errorDeclaration"}
        namespaces = namespaces_from_context(json.loads(context_json) if context_json else None)
        withdrawn.add(event_hash_id(plain, namespaces))
    return sorted(withdrawn)


class _Catalogue:
    """Registered products and sites, looked up by epcClass and by location URI."""

    def __init__(self, masterdata: MasterData) -> None:
        self.products = masterdata.products()
        self.by_gtin = {p.gtin: p for p in self.products if p.gtin}
        self.by_id = {p.id: p for p in self.products}
        self.sites = masterdata.sites()
        self.site_by_location = {s["location_uri"]: s for s in self.sites}
        self.site_by_id = {s["id"]: s for s in self.sites}
        self.party_countries = {
            str(o["party_uri"]): str(o["country"]) for o in masterdata.organisations() if o["party_uri"]
        }
        self._products_of: dict[str, tuple[RegisteredProduct | None, str | None, str | None]] = {}

    def product_of(self, epc_class: str) -> tuple[RegisteredProduct | None, str | None, str | None]:
        """The registered product, product key and lot an epcClass names (cached: a few hundred classes
        recur in thousands of rows)."""
        found = self._products_of.get(epc_class)
        if found is None:
            found = self._products_of[epc_class] = self._product_of(epc_class)
        return found

    def _product_of(self, epc_class: str) -> tuple[RegisteredProduct | None, str | None, str | None]:
        parsed = parse_epc_class(epc_class)
        if parsed is None:
            return None, None, None
        if parsed.product_key.startswith("local:"):
            product = self.by_id.get(parsed.product_key.removeprefix("local:"))
        else:
            product = self.by_gtin.get(parsed.product_key)
        return product, parsed.product_key, parsed.lot

    def site_location(self, site: str) -> str:
        """A site id, GLN or location URI as the location URI events use."""
        if site in self.site_by_id:
            return str(self.site_by_id[site]["location_uri"])
        for record in self.sites:
            if record["gln"] == site:
                return str(record["location_uri"])
        if ":" in site:
            return site
        raise NotFound(f"unknown site {site!r}: give a registered site id, its GLN or a location URI")

    def site_id(self, location: str | None) -> str | None:
        record = self.site_by_location.get(location) if location else None
        return str(record["id"]) if record else None


def _to_product_unit(product: RegisteredProduct | None, unit: str, quantity: float) -> tuple[str, float]:
    """Convert a count of trade items (``EA`` or any non-base unit) through the product's net content."""
    if unit in ("kg", "L") or product is None or product.net_content is None:
        return unit, quantity
    from vigichem.ledger.units import to_base

    value, base_unit = to_base(product.net_content.value, product.net_content.uom)
    return str(base_unit), quantity * float(value)


def _movements(row: dict[str, Any], factor: float = 1.0) -> Movements:
    counted = row["counted"]
    return Movements(
        produced=row["produced"] * factor,
        received=row["received"] * factor,
        shipped=row["shipped"] * factor,
        sold=row["sold"] * factor,
        consumed=row["consumed"] * factor,
        destroyed=row["destroyed"] * factor,
        counted=None if counted is None else counted * factor,
        counted_at=row["counted_at"],
        expected_at_count=None if counted is None else row["expected_at_count"] * factor,
    )


def lot_balances(rows: Iterable[dict[str, Any]], catalogue: _Catalogue) -> list[LotBalance]:
    """Product-lot balances from the SQL rows, counts converted through net content and merged."""
    merged: dict[tuple[str, str, str], LotBalance] = {}
    for row in rows:
        product, product_key, lot = catalogue.product_of(row["epc_class"])
        factor = 1.0
        unit, converted = _to_product_unit(product, row["unit"], 1.0)
        if unit != row["unit"]:
            factor = converted
        key_class = f"{product.id}/{lot}" if product is not None else row["epc_class"]
        key = (row["site"], key_class, unit)
        balance = merged.get(key)
        if balance is None:
            balance = merged[key] = LotBalance(
                site=row["site"],
                site_id=catalogue.site_id(row["site"]),
                product_id=product.id if product else None,
                product_key=product_key,
                lot=lot,
                epc_class=row["epc_class"],
                unit=unit,
            )
        balance.movements.add(_movements(row), factor)
    return sorted(
        merged.values(), key=lambda b: (b.site, b.product_id or "", b.lot or "", b.epc_class, b.unit)
    )


def substance_balances(
    lots: Sequence[LotBalance], catalogue: _Catalogue
) -> tuple[list[SubstanceBalance], list[str]]:
    """Per site × substance balances in kg, and notes on what could not be converted."""
    merged: dict[tuple[str, str], SubstanceBalance] = {}
    notes: list[str] = []
    for lot in lots:
        product = catalogue.by_id.get(lot.product_id) if lot.product_id else None
        if product is None or not product.components:
            continue
        if lot.unit == "kg":
            to_kg = 1.0
        elif lot.unit == "L" and product.density_kg_per_l:
            to_kg = product.density_kg_per_l
        else:
            notes.append(
                f"{product.id} lot {lot.lot} at {lot.site}: quantities in {lot.unit} are not converted to "
                "substance mass (register the product's density or net content)"
            )
            continue
        for component in product.components:
            key = (lot.site, component.key)
            balance = merged.get(key)
            if balance is None:
                balance = merged[key] = SubstanceBalance(
                    site=lot.site, site_id=lot.site_id, substance=component.key, name=component.name
                )
            balance.movements.add(lot.movements, to_kg * component.percent / 100.0)
    return sorted(merged.values(), key=lambda b: (b.site, b.substance)), notes


def transit_issues(rows: Iterable[dict[str, Any]], as_of: dt.datetime, days: float) -> list[TransitIssue]:
    """Shipments not received within ``days`` of shipping (as of ``as_of``), and quantity mismatches
    (:func:`vigichem.ledger.balance_transit.transit_issue` for each row of ``transit_rows``)."""
    issues: list[TransitIssue] = []
    for row in rows:
        pair = (
            row["shipment_event"],
            row["shipped_at"],
            row["origin"],
            row["destination"],
            row["epc_class"],
            row["unit"],
            row["shipped_quantity"],
            row["receipt_event"],
            row["received_at"],
            row["received_quantity"],
        )
        issue = transit_issue(pair, as_of, days)
        if issue is not None:
            issues.append(issue)
    return issues


def compute_balance(
    engine: Engine,
    *,
    site: str | None = None,
    product: str | None = None,
    substance: str | None = None,
    transit_days: float = DEFAULT_TRANSIT_DAYS,
    year: int | None = None,
    as_of: dt.datetime | None = None,
    sites: Collection[str] | None = None,
    rollup: bool = True,
) -> BalanceReport:
    """The balance report (``vigichem balance``).

    ``site``: a site id, GLN or location URI; ``product``: a product id or GTIN; ``substance``: a CAS number
    or name (case-insensitive); ``transit_days``: how long a shipment may stay unreceived; ``year``: also
    compute the CWC declaration aggregates of that calendar year; ``as_of``: ignore later events (default:
    now); ``sites``: location URIs the report is confined to (the API passes the caller's sites): lots and
    CWC aggregates at other sites are left out, and transit issues unless they leave from or go to one.

    The lot figures and the transit check come from the incremental roll-up
    (:mod:`vigichem.ledger.balance_rollup`, :mod:`vigichem.ledger.balance_transit`, refreshed here first)
    when no stored event is later than ``as_of``; else, or with ``rollup=False``, from the full
    aggregation (:func:`vigichem.ledger.balance_sql.lot_rows` and
    :func:`~vigichem.ledger.balance_sql.transit_rows`, the reference the roll-up is tested against).
    """
    if transit_days < 0:
        raise InvalidInput(f"transit days must be zero or more, got {transit_days}")
    # A large ledger's report is tens of thousands of small objects (transit issues, lot rows) and none
    # of them forms a reference cycle: without the pause, the collector's passes over everything built so
    # far took 0.1 to 0.3 s of a 1M-event balance, a different share each run (docs/balance.md, "Speed").
    with gc_paused():
        return _compute_balance(
            engine,
            site=site,
            product=product,
            substance=substance,
            transit_days=transit_days,
            year=year,
            as_of=as_of,
            sites=sites,
            rollup=rollup,
        )


def _compute_balance(
    engine: Engine,
    *,
    site: str | None,
    product: str | None,
    substance: str | None,
    transit_days: float,
    year: int | None,
    as_of: dt.datetime | None,
    sites: Collection[str] | None,
    rollup: bool,
) -> BalanceReport:
    """:func:`compute_balance` once its arguments are checked."""
    moment = _naive_utc(as_of) if as_of is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    catalogue = _Catalogue(MasterData(engine))
    location = catalogue.site_location(site) if site else None
    if rollup and _latest_event_time(engine) <= moment:
        # A past as-of skips the refresh: the reference answers it (see rollup_covers).
        refresh_rollup(engine)
    with engine.connect() as connection:
        if is_postgresql(engine):
            # One snapshot for every statement: the roll-up's tables must agree with each other.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            # Hash aggregation of a million rows wants more than the default 4 MB of sort memory.
            connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        use_rollup = rollup and rollup_covers(connection, moment)
        excluded = withdrawn_hash_ids(connection, declarations(connection) if use_rollup else None)
        withdrawn_count = _stored_count(connection, excluded)
        filters = Filters(excluded_hash_ids=excluded, as_of=moment, site=location)
        if use_rollup:
            groups = group_keys(connection)  # read once for both
            rows = rollup_lot_rows(connection, filters, groups)
            withdrawn = withdrawn_seqs(connection, excluded)
            transit = rollup_transit_issues(connection, filters, withdrawn, moment, transit_days, groups)
        else:
            rows = lot_rows(connection, filters)
            transit = transit_issues(transit_rows(connection, filters), moment, transit_days)
        cwc: list[CwcAggregate] = []
        cwc_notes: list[str] = []
        if year is not None:
            from vigichem.ledger.cwc import cwc_aggregates

            cwc, cwc_notes = cwc_aggregates(
                connection,
                lambda epc_class: catalogue.product_of(epc_class)[0],
                {uri: str(record["country"]) for uri, record in catalogue.site_by_location.items()},
                catalogue.party_countries,
                {uri: str(record["id"]) for uri, record in catalogue.site_by_location.items()},
                year,
                excluded,
                location,
            )
    lots = lot_balances(rows, catalogue)
    if sites is not None:
        allowed = frozenset(sites)
        lots = [lot for lot in lots if lot.site in allowed]
        transit = [issue for issue in transit if issue.origin in allowed or issue.destination in allowed]
        cwc = [aggregate for aggregate in cwc if aggregate.site in allowed]
    if product is not None:
        lots = [lot for lot in lots if _product_matches(lot, product)]
    substances, notes = substance_balances(lots, catalogue)
    if substance is not None:
        wanted = substance.strip().casefold()
        substances = [s for s in substances if wanted in (s.substance.casefold(), (s.name or "").casefold())]
        cwc = [c for c in cwc if wanted in (c.substance.casefold(), (c.name or "").casefold())]
    return BalanceReport(
        as_of=moment,
        lots=lots,
        substances=substances,
        transit=transit,
        cwc=cwc,
        transit_days=transit_days,
        excluded_events=withdrawn_count,
        notes=notes + cwc_notes,
    )


def _latest_event_time(engine: Engine) -> dt.datetime:
    with engine.connect() as connection:
        latest = connection.scalar(select(func.max(events.c.event_time)))
    return latest if isinstance(latest, dt.datetime) else dt.datetime.min


def _stored_count(connection: Connection, hash_ids: Sequence[str]) -> int:
    """How many of these hash IDs are stored events (an eventID may name an event never captured)."""
    if not hash_ids:
        return 0
    query = select(func.count()).select_from(events).where(events.c.hash_id.in_(list(hash_ids)))
    return int(connection.scalar(query) or 0)


def _product_matches(lot: LotBalance, product: str) -> bool:
    wanted = product.strip()
    if lot.product_id == wanted:
        return True
    return lot.product_key is not None and wanted.isdigit() and lot.product_key == wanted.zfill(14)


__all__ = [
    "DEFAULT_TRANSIT_DAYS",
    "MISMATCH_TOLERANCE",
    "compute_balance",
    "lot_balances",
    "substance_balances",
    "transit_issues",
    "withdrawn_hash_ids",
]
