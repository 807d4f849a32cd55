"""The product catalogue: real formulations of listed chemicals, ordinary unlisted products, and the
designer-precursor candidates of the knowledge base.

Listed components are named by the CAS number the knowledge base (``vigichem.chem``) prints; the catalogue
refuses to build when one is missing there, so no CAS number is invented here. Unlisted components (water,
ethanol, urea…) are given as SMILES, which screening identifies by structure. Concentrations are those of
ordinary commercial grades (e.g. hydrogen peroxide 6 % and 12 % for the public, 30–35 % for professionals;
the EU 2019/1148 Annex I limit value for hydrogen peroxide is 12 % w/w). GTINs are invented under the
invented company prefix ``3012345`` (check digits valid).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from vigichem.chem import load_knowledge_base
from vigichem.errors import KnowledgeBaseError
from vigichem.ledger.gs1 import gs1_check_digit
from vigichem.sim.models import ProductSpec

COMPANY_PREFIX = "3012345"  # invented
WATER = "O"

# CAS numbers as the knowledge base prints them (checked at build time by _require_listed).
HYDROGEN_PEROXIDE = "7722-84-1"
NITRIC_ACID = "7697-37-2"
SULPHURIC_ACID = "7664-93-9"
AMMONIUM_NITRATE = "6484-52-2"
POTASSIUM_CHLORATE = "3811-04-9"
POTASSIUM_NITRATE = "7757-79-1"
ACETONE = "67-64-1"
HYDROCHLORIC_ACID = "7647-01-0"
ACETIC_ANHYDRIDE = "108-24-7"
POTASSIUM_PERMANGANATE = "7722-64-7"

DRUG_PRECURSOR_LISTS = ("eu-dp-1", "eu-dp-2a", "eu-dp-2b", "eu-dp-3", "eu-dp-4", "un-1988-i", "un-1988-ii")
"""Lists whose later additions may be simulated before their listing date (designer precursors)."""


def gtin(item: int) -> str:
    """An invented GTIN-13 under :data:`COMPANY_PREFIX` with a valid check digit."""
    body = f"{COMPANY_PREFIX}{item:05d}"
    return body + str(gs1_check_digit(body))


def _p(
    item: int,
    id: str,
    name: str,
    composition: tuple[tuple[str, float], ...],
    *,
    unit: str | None = None,
    net: tuple[float, str] | None = None,
    density: float | None = None,
    controlled: bool = True,
    uses: tuple[str, ...] = (),
    imported: bool = False,
) -> ProductSpec:
    return ProductSpec(
        id=id,
        name=name,
        gtin=gtin(item),
        composition=composition,
        unit=unit,
        net_content=net,
        density_kg_per_l=density,
        controlled=controlled,
        end_uses=uses,
        imported=imported,
    )


def base_catalogue() -> tuple[ProductSpec, ...]:
    """The products every simulation sells (listed ones first)."""
    h2o2 = HYDROGEN_PEROXIDE
    products = (
        _p(
            1,
            "h2o2-6",
            "Hydrogen peroxide 6 % 1 L",
            ((h2o2, 6.0), (WATER, 94.0)),
            net=(1, "LTR"),
            density=1.02,
            uses=("hair bleaching", "disinfection of surfaces"),
        ),
        _p(
            2,
            "h2o2-12",
            "Hydrogen peroxide 12 % 1 L",
            ((h2o2, 12.0), (WATER, 88.0)),
            net=(1, "LTR"),
            density=1.04,
            uses=("swimming pool care", "wood bleaching", "disinfection of surfaces"),
        ),
        _p(
            3,
            "h2o2-30",
            "Hydrogen peroxide 30 % 5 L",
            ((h2o2, 30.0), (WATER, 70.0)),
            net=(5, "LTR"),
            density=1.11,
            uses=("laboratory analysis", "etching of circuit boards"),
        ),
        _p(
            4,
            "h2o2-35",
            "Hydrogen peroxide 35 % 20 L",
            ((h2o2, 35.0), (WATER, 65.0)),
            net=(20, "LTR"),
            density=1.13,
            uses=("swimming pool treatment", "dairy equipment disinfection"),
        ),
        _p(
            5,
            "nitric-65",
            "Nitric acid 65 % 1 L",
            ((NITRIC_ACID, 65.0), (WATER, 35.0)),
            net=(1, "LTR"),
            density=1.39,
            uses=("laboratory analysis", "metal etching"),
        ),
        _p(
            6,
            "sulphuric-96",
            "Sulphuric acid 96 % 1 L",
            ((SULPHURIC_ACID, 96.0), (WATER, 4.0)),
            net=(1, "LTR"),
            density=1.84,
            uses=("laboratory analysis",),
        ),
        _p(
            7,
            "sulphuric-37",
            "Battery acid (sulphuric acid 37 %) 5 L",
            ((SULPHURIC_ACID, 37.0), (WATER, 63.0)),
            net=(5, "LTR"),
            density=1.28,
            uses=("car battery refill",),
        ),
        _p(
            8,
            "acetone",
            "Acetone 99.5 % 1 L",
            ((ACETONE, 99.5),),
            net=(1, "LTR"),
            density=0.79,
            uses=("paint thinning", "cleaning", "nail varnish removal"),
        ),
        _p(
            9,
            "hcl-33",
            "Hydrochloric acid 33 % 5 L",
            ((HYDROCHLORIC_ACID, 33.0), (WATER, 67.0)),
            net=(5, "LTR"),
            density=1.16,
            uses=("swimming pool pH reduction", "descaling"),
        ),
        _p(
            10,
            "kno3-fert",
            "Potassium nitrate fertiliser 25 kg",
            ((POTASSIUM_NITRATE, 99.0),),
            net=(25, "KGM"),
            uses=("fertilising crops", "garden fertiliser"),
            imported=True,
        ),
        _p(
            11,
            "an-fert",
            "Ammonium nitrate fertiliser 33.5 % N (bulk)",
            ((AMMONIUM_NITRATE, 95.7),),
            unit="KGM",
            uses=("fertilising crops", "blasting agent manufacture"),
        ),
        _p(
            12,
            "kclo3",
            "Potassium chlorate 99 % 1 kg",
            ((POTASSIUM_CHLORATE, 99.0),),
            net=(1, "KGM"),
            uses=("laboratory analysis",),
            imported=True,
        ),
        _p(
            13,
            "ac2o",
            "Acetic anhydride 99 % 1 L",
            ((ACETIC_ANHYDRIDE, 99.0),),
            net=(1, "LTR"),
            density=1.08,
            uses=("laboratory synthesis of aspirin for teaching", "acetylation in production"),
            imported=True,
        ),
        _p(
            14,
            "kmno4",
            "Potassium permanganate 99 % 500 g",
            ((POTASSIUM_PERMANGANATE, 99.0),),
            net=(0.5, "KGM"),
            uses=("water treatment", "laboratory analysis"),
            imported=True,
        ),
        # Ordinary unlisted products (screening identifies them by structure).
        _p(
            20,
            "ethanol-96",
            "Ethanol 96 % 1 L",
            (("CCO", 96.0), (WATER, 4.0)),
            net=(1, "LTR"),
            density=0.81,
            controlled=False,
        ),
        _p(
            21,
            "bleach",
            "Bleach (sodium hypochlorite 5 %) 2 L",
            (("[Na+].[O-]Cl", 5.0), (WATER, 95.0)),
            net=(2, "LTR"),
            density=1.08,
            controlled=False,
        ),
        _p(
            22,
            "urea-fert",
            "Urea fertiliser 46 % N 25 kg",
            (("NC(N)=O", 99.0),),
            net=(25, "KGM"),
            controlled=False,
        ),
        _p(
            23,
            "citric",
            "Citric acid 1 kg",
            (("OC(=O)CC(O)(CC(O)=O)C(O)=O", 99.5),),
            net=(1, "KGM"),
            controlled=False,
        ),
        _p(
            24,
            "tcca",
            "Pool chlorine tablets 5 kg",
            (("O=C1N(Cl)C(=O)N(Cl)C(=O)N1Cl", 90.0),),
            net=(5, "KGM"),
            controlled=False,
        ),
    )
    _require_listed(products)
    return products


def _require_listed(products: tuple[ProductSpec, ...]) -> None:
    """Refuse to build when a listed product's CAS number is absent from the knowledge base."""
    known = _knowledge_base_cas()
    for product in products:
        if not product.controlled:
            continue
        cas = product.composition[0][0]
        if cas not in known:
            raise KnowledgeBaseError(
                f"catalogue product {product.id}: CAS {cas} is not in the knowledge base"
            )


@cache
def _knowledge_base_cas() -> frozenset[str]:
    kb = load_knowledge_base()
    return frozenset(cas for reg in kb.lists.values() for entry in reg.entries for cas in entry.cas)


@dataclass(frozen=True, slots=True)
class DesignerCandidate:
    """A chemical that a drug-precursor list added later, simulated before ``listed_on`` (no analogue)."""

    cas: str
    name: str
    list_id: str
    listed_on: dt.date
    source: str


def designer_candidates(start: dt.date, jurisdiction: str) -> list[DesignerCandidate]:
    """Knowledge-base entries added to a drug-precursor list after ``start``, not yet controlled on ``start``.

    "Not yet controlled" is asked of screening itself (``screen(cas, jurisdiction, as_of=start)`` returns no
    legal finding, only ``watch`` similarity at most), so an entry already covered by another list of the
    jurisdiction (e.g. a UN Table I entry that predates the EU one) is not taken. Sorted by listing date.
    """
    from vigichem.chem import screen

    kb = load_knowledge_base()
    first_listed: dict[str, dt.date] = {}
    for reg in kb.lists.values():
        for entry in reg.entries:
            for cas in entry.cas:
                when = entry.effective_from or reg.effective_from or dt.date.min
                first_listed[cas] = min(first_listed.get(cas, dt.date.max), when)
    found: dict[str, DesignerCandidate] = {}
    for list_id in DRUG_PRECURSOR_LISTS:
        listed = kb.lists.get(list_id)
        if listed is None:
            continue
        for entry in listed.entries:
            if entry.effective_from is None or not entry.cas:
                continue
            cas = entry.cas[0]
            # The first listing on any list is the deadline: a UN Table I addition may predate the EU one.
            listed_on = first_listed[cas]
            if listed_on <= start + dt.timedelta(days=1):
                continue
            result = screen(cas, jurisdiction=jurisdiction, as_of=start)
            if any(f.status != "watch" for f in result.findings) or cas in found:
                continue
            found[cas] = DesignerCandidate(cas, entry.name, list_id, listed_on, entry.source)
    return sorted(found.values(), key=lambda c: (c.listed_on, c.cas))


def designer_product(candidate: DesignerCandidate, item: int) -> ProductSpec:
    """A fine-chemical product of a designer-precursor candidate (98 %, 1 kg), imported."""
    return _p(
        item,
        f"fine-{candidate.cas}",
        f"{candidate.name} 98 % 1 kg",
        ((candidate.cas, 98.0),),
        net=(1, "KGM"),
        uses=("research",),
        imported=True,
    )


__all__ = [
    "COMPANY_PREFIX",
    "DRUG_PRECURSOR_LISTS",
    "DesignerCandidate",
    "base_catalogue",
    "designer_candidates",
    "designer_product",
    "gtin",
]
