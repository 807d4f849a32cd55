"""CWC declaration aggregates: per facility, year and scheduled chemical, against the knowledge base.

The Chemical Weapons Convention defines the activities (Article II, paragraphs 11-12 and Verification
Annex Part VII/VIII): *production* is formation through chemical reaction, *processing* a physical process
in which the chemical is not converted into another, *consumption* its conversion into another chemical.
From the ledger (``docs/balance.md``):

* produced: commissioning (ObjectEvent ADD) of products containing the chemical, plus the part of a
  TransformationEvent's outputs that exceeds its inputs of that chemical;
* processed: the part of a TransformationEvent's inputs of the chemical found again in its outputs
  (``min(in, out)`` per event), e.g. a formulation or a purification;
* consumed: the rest of the TransformationEvent's inputs (``in − min(in, out)``);
* imported: receipts whose source (location, else owning party, else possessing party) is registered in
  another country than the receiving facility; exported: shipments whose destination is.

Quantities are kg of the chemical (products spread over their composition, % w/w). A facility's
aggregate is compared with every quantity limit of the chemical's entry (or, when the entry has none, of
its list) in :func:`vigichem.chem.load_knowledge_base` whose ``activity`` text names the activity; a limit
without an activity applies to all five. Limits are compared per activity, not summed over activities.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from vigichem.chem import load_knowledge_base
from vigichem.chem.knowledge import in_force
from vigichem.chem.models import Limit, RegulatoryList
from vigichem.ledger.balance_models import CwcAggregate, Threshold
from vigichem.ledger.balance_sql import Filters, cwc_rows
from vigichem.ledger.masterdata_models import RegisteredProduct

ACTIVITIES = ("produced", "processed", "consumed", "imported", "exported")
_ACTIVITY_WORDS = {
    "produced": re.compile(r"\bproduc", re.I),
    "processed": re.compile(r"\bprocess", re.I),
    "consumed": re.compile(r"\bconsum", re.I),
    "imported": re.compile(r"\bimport", re.I),
    "exported": re.compile(r"\bexport", re.I),
}
_TO_KG = {"g": 1e-3, "kg": 1.0, "t": 1e3}
_TO_L = {"mL": 1e-3, "L": 1.0}

ProductOf = Callable[[str], RegisteredProduct | None]


def cwc_lists() -> dict[str, RegulatoryList]:
    """The CWC schedules of the knowledge base (list ids ``cwc-…``), by the short name findings carry."""
    knowledge_base = load_knowledge_base()
    return {lst.short: lst for lst in knowledge_base.lists.values() if lst.id.startswith("cwc-")}


def thresholds_for(regulatory_list: RegulatoryList, entry_label: str, year: int) -> list[Limit]:
    """Quantity limits in force in ``year`` for an entry: its own, else its list's."""
    on = dt.date(year, 12, 31)
    entry = next((e for e in regulatory_list.entries if e.entry == entry_label), None)
    own = [lim for lim in (entry.limits if entry else ()) if lim.kind == "quantity"]
    chosen = own or [lim for lim in regulatory_list.limits if lim.kind == "quantity"]
    return [lim for lim in chosen if in_force(lim, on)]


def _limit_in_base(limit: Limit) -> tuple[float, str] | None:
    if limit.unit in _TO_KG:
        return limit.value * _TO_KG[limit.unit], "kg"
    if limit.unit in _TO_L:
        return limit.value * _TO_L[limit.unit], "L"
    return None


def _activities_of(limit: Limit) -> list[str]:
    if not limit.activity:
        return list(ACTIVITIES)
    return [name for name, word in _ACTIVITY_WORDS.items() if word.search(limit.activity)]


def _kg_per_unit(product: RegisteredProduct, unit: str) -> float | None:
    if unit == "kg":
        return 1.0
    if unit == "L":
        return product.density_kg_per_l
    if product.net_content is not None:
        from vigichem.ledger.units import to_base

        value, base = to_base(product.net_content.value, product.net_content.uom)
        return (
            float(value)
            if base == "kg"
            else (float(value) * product.density_kg_per_l if product.density_kg_per_l else None)
        )
    return None


def _country(row: Mapping[str, Any], countries: Mapping[str, str]) -> str | None:
    for column in ("cp_location", "cp_owning_party", "cp_possessing_party"):
        value = row.get(column)
        if value and value in countries:
            return countries[value]
    return None


def cwc_aggregates(
    connection: Connection,
    product_of: ProductOf,
    site_countries: Mapping[str, str],
    party_countries: Mapping[str, str],
    site_ids: Mapping[str, str],
    year: int,
    excluded_hash_ids: Sequence[str],
    site: str | None = None,
) -> tuple[list[CwcAggregate], list[str]]:
    """CWC aggregates of ``year`` per facility × scheduled chemical, with thresholds; and notes."""
    schedules = cwc_lists()
    filters = Filters(
        excluded_hash_ids=excluded_hash_ids,
        since=dt.datetime(year, 1, 1),
        as_of=dt.datetime(year, 12, 31, 23, 59, 59, 999999),
        site=site,
    )
    countries = {**party_countries, **site_countries}
    aggregates: dict[tuple[str, str], CwcAggregate] = {}
    transformations: dict[tuple[str, int, str], list[float]] = {}
    notes: list[str] = []
    for row in cwc_rows(connection, filters):
        product = product_of(row["epc_class"])
        if product is None:
            continue
        kg_per_unit = _kg_per_unit(product, row["unit"])
        # One finding per component: a chemical may be found once per jurisdiction where the CWC applies.
        scheduled = list(
            {
                component.key: (component, finding)
                for component in product.components
                for finding in reversed(component.findings)
                if finding.list in schedules and finding.status != "watch"
            }.values()
        )
        if not scheduled:
            continue
        if kg_per_unit is None:
            notes.append(
                f"CWC: {product.id} in {row['unit']} at {row['site']} not converted to kg (no density)"
            )
            continue
        home = site_countries.get(row["site"])
        for component, finding in scheduled:
            mass = row["qty"] * kg_per_unit * component.percent / 100.0
            key = (row["site"], component.key)
            aggregate = aggregates.get(key)
            if aggregate is None:
                aggregate = aggregates[key] = CwcAggregate(
                    site=row["site"],
                    site_id=site_ids.get(row["site"]),
                    year=year,
                    substance=component.key,
                    name=component.name,
                    schedule=finding.list,
                    entry=finding.entry,
                )
            category = row["category"]
            if row["transformation"] is not None and category in ("produced", "consumed"):
                flows = transformations.setdefault(
                    (row["site"], row["transformation"], component.key), [0.0, 0.0]
                )
                flows[0 if category == "consumed" else 1] += mass
            elif category == "produced":
                aggregate.produced += mass
            elif category in ("received", "shipped"):
                other = _country(row, countries)
                if home is None or other is None:
                    notes.append(
                        f"CWC: a {'receipt' if category == 'received' else 'shipment'} of {product.id} at "
                        f"{row['site']} has no registered country on both sides; not counted as "
                        f"{'import' if category == 'received' else 'export'}"
                    )
                elif other != home:
                    if category == "received":
                        aggregate.imported += mass
                    else:
                        aggregate.exported += mass
    for (site_uri, _seq, substance), (mass_in, mass_out) in transformations.items():
        aggregate = aggregates[(site_uri, substance)]
        processed = min(mass_in, mass_out)
        aggregate.processed += processed
        aggregate.consumed += mass_in - processed
        aggregate.produced += mass_out - processed
    for aggregate in aggregates.values():
        aggregate.thresholds = _thresholds(aggregate, schedules, year)
    ordered = sorted(aggregates.values(), key=lambda a: (a.site, a.schedule, a.substance))
    return ordered, list(dict.fromkeys(notes))


def _thresholds(
    aggregate: CwcAggregate, schedules: Mapping[str, RegulatoryList], year: int
) -> list[Threshold]:
    found: list[Threshold] = []
    for limit in thresholds_for(schedules[aggregate.schedule], aggregate.entry, year):
        base = _limit_in_base(limit)
        if base is None or base[1] != "kg":
            continue
        for activity in _activities_of(limit):
            amount = float(getattr(aggregate, activity))
            found.append(
                Threshold(
                    activity=activity,
                    value=base[0],
                    unit="kg",
                    status=limit.status,
                    source=limit.source,
                    exceeded=amount > base[0],
                )
            )
    return found


__all__ = ["ACTIVITIES", "cwc_aggregates", "cwc_lists", "thresholds_for"]
