"""Run a simulation: catalogue, population, day-by-day business with planted cases, streamed to disk.

``simulate(config, out)`` writes into ``out``:

* ``masterdata.yaml`` — organisations, sites and products for ``vigichem masterdata load``;
* ``parties.jsonl`` — one fake buyer per line (``"fake": true``), its party reference and personal data;
* ``documents/NNNNNN.json`` — EPCIS 2.0 documents for ``vigichem capture``, in time order;
* ``labels.jsonl`` — one planted case per line (typology, detail, subject, evidence Event Hash IDs);
* ``manifest.json`` — seed, days, counts, generator version, and typologies that could not be planted.

The same configuration always gives byte-identical files: every random draw comes from generators seeded
with the configuration's seed, and nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import yaml

from vigichem.sim.catalogue import base_catalogue, designer_candidates, designer_product
from vigichem.sim.demand import Demand
from vigichem.sim.market import Market
from vigichem.sim.models import TYPOLOGIES, Label, Manifest, ProductSpec, SimConfig
from vigichem.sim.population import PopulationBuilder
from vigichem.sim.typologies import PLANTERS, PlantContext, Planted
from vigichem.sim.writer import SimWriter, check_output_dir

Progress = Callable[[int, int], None]
"""Called after each simulated day with (days done, days in all)."""


def cases_per_typology(config: SimConfig, typology: str) -> int:
    """How many cases of a typology a run plants: about one per 30 days per unit of scale, at least 2.

    ``sale_indicator`` plants at least one case of each of its five indicators.
    """
    base = max(2, round(config.days / 30 * config.scale))
    return max(5, base) if typology == "sale_indicator" else base


def _plan(
    config: SimConfig, designer_deadline: int | None, manifest: Manifest
) -> dict[int, list[tuple[str, str, int]]]:
    """Start day of every planted case: day index -> [(typology, case id, number)]."""
    rng = random.Random(f"{config.seed}:plan")
    plan: dict[int, list[tuple[str, str, int]]] = {}
    for typology in TYPOLOGIES:
        span = PLANTERS[typology][1]
        latest = config.days - span - 2
        if typology == "designer_precursor":
            if designer_deadline is None:
                manifest.not_planted[typology] = "no knowledge-base entry is listed after the start date"
                continue
            latest = min(latest, designer_deadline - span - 1)
        if latest < 0:
            manifest.not_planted[typology] = f"needs {span + 2} days before the end (or the listing date)"
            continue
        for number in range(cases_per_typology(config, typology)):
            day = rng.randint(0, latest)
            plan.setdefault(day, []).append((typology, f"{typology}-{number + 1:04d}", number))
    return plan


def build_products(config: SimConfig) -> tuple[dict[str, ProductSpec], int | None]:
    """The catalogue, plus a designer-precursor product when the knowledge base offers one.

    Returns the products and the designer chemical's listing date as a day index (None: no candidate).
    """
    products = {p.id: p for p in base_catalogue()}
    candidates = designer_candidates(config.start, config.jurisdiction)
    if not candidates:
        return products, None
    chosen = candidates[-1]  # the latest listing leaves the most days to simulate before it
    product = designer_product(chosen, 30)
    products[product.id] = product
    return products, (chosen.listed_on - config.start).days


def simulate(config: SimConfig, out: Path, progress: Progress | None = None) -> tuple[Manifest, list[Label]]:
    """Simulate ``config`` into ``out``; return the manifest and the labels written."""
    check_output_dir(out)
    products, designer_deadline = build_products(config)
    designer = next((p.id for p in products.values() if p.id.startswith("fine-")), None)
    manifest = Manifest(
        seed=config.seed,
        days=config.days,
        start=config.start.isoformat(),
        scale=config.scale,
        jurisdiction=config.jurisdiction,
    )
    out.mkdir(parents=True, exist_ok=True)
    writer = SimWriter(out, manifest, config.events_per_document)
    try:
        builder = PopulationBuilder(config, products)
        builder.build_sites()
        for record in builder.customers():
            writer.party(record)
        masterdata = yaml.safe_dump(builder.masterdata(), sort_keys=False, allow_unicode=True, width=110)
        (out / "masterdata.yaml").write_text("# Invented organisations and sites (fake data).\n" + masterdata)
        market = Market(config, builder.population, products)
        demand = Demand(market)
        plan = _plan(config, designer_deadline, manifest)
        context = PlantContext(market, builder, random.Random(f"{config.seed}:plant"), [], designer)
        planted: list[Planted] = []
        for index in range(config.days):
            market.day = config.start + dt.timedelta(days=index)
            market.run_scheduled()
            demand.run_day(index)
            for typology, case, number in plan.get(index, []):
                planted.append(PLANTERS[typology][0](context, case, number))
            for record in context.new_parties:
                writer.party(record)
            context.new_parties.clear()
            writer.events(market.take_day())
            if progress is not None:
                progress(index + 1, config.days)
        labels = writer.finish(planted)
    finally:
        writer.close()
    return manifest, labels


__all__ = ["Progress", "build_products", "cases_per_typology", "simulate"]
