"""Typed records of the synthetic supply chain: configuration, products, sites, parties, labels, manifest.

Everything here is invented test data for measuring detection (DESIGN.md decision 8): the organisations,
sites, GTINs, GLNs and parties are made up; only the chemicals (CAS numbers from the knowledge base) and
the legal facts they carry are real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from vigichem.errors import InvalidInput

GENERATOR_VERSION = "2"
"""Bumped whenever the same seed would give different output (the manifest records it).

2: disposals pick among the products a shop holds in catalogue order; reorders are checked only for stock
that went down since the last check (both change which events a seed gives, not their kinds).
"""

TYPOLOGIES = (
    "split_purchase",
    "split_purchase_multi_seller",
    "quantity_spike",
    "unusual_combination",
    "sale_indicator",
    "theft_loss",
    "shipment_not_received",
    "shipment_short",
    "designer_precursor",
)
"""Typology ids shared with detection and evaluation (the contract of issue 4)."""

SiteRole = Literal[
    "producer",
    "importer",
    "distributor",
    "shop_counter",
    "shop_online",
    "customer",
    "foreign_supplier",
    "foreign_customer",
]
SubjectType = Literal["party", "site", "shipment", "address"]

MAX_DAYS = 3660
MAX_SCALE = 1000.0


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate. ``scale`` multiplies the population (and so the events per day)."""

    seed: int
    days: int
    start: dt.date = dt.date(2023, 1, 2)
    scale: float = 1.0
    country: str = "FR"
    jurisdiction: str = "FR"
    events_per_document: int = 1000
    utc_offset_hours: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_DAYS:
            raise InvalidInput(f"days must be between 1 and {MAX_DAYS}, got {self.days}")
        if not 0 < self.scale <= MAX_SCALE:
            raise InvalidInput(f"scale must be above 0 and at most {MAX_SCALE:g}, got {self.scale}")
        if not 1 <= self.events_per_document <= 100_000:
            raise InvalidInput(f"events per document must be 1 to 100000, got {self.events_per_document}")
        if self.seed < 0:
            raise InvalidInput(f"the seed must be zero or more, got {self.seed}")

    @property
    def end(self) -> dt.date:
        """The last simulated day."""
        return self.start + dt.timedelta(days=self.days - 1)


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A product of the catalogue: a real formulation (CAS from the knowledge base) in an invented package.

    ``unit``: the UN/ECE unit every movement of it uses (``KGM`` for bulk), or ``None`` for trade items
    counted as packages of ``net_content``.
    """

    id: str
    name: str
    gtin: str
    composition: tuple[tuple[str, float], ...]
    unit: str | None
    net_content: tuple[float, str] | None
    density_kg_per_l: float | None
    controlled: bool
    end_uses: tuple[str, ...] = ()
    imported: bool = False

    def masterdata(self) -> dict[str, Any]:
        """This product as a master-data record (``vigichem masterdata load``)."""
        record: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "gtin": self.gtin,
            "composition": [{"substance": s, "percent": p} for s, p in self.composition],
        }
        if self.density_kg_per_l is not None:
            record["density_kg_per_l"] = self.density_kg_per_l
        if self.net_content is not None:
            record["net_content"] = {"value": self.net_content[0], "uom": self.net_content[1]}
        return record


@dataclass(frozen=True, slots=True)
class SimSite:
    """A site of the simulated chain (one per organisation) and the location URI its events use."""

    id: str
    organisation: str
    name: str
    role: SiteRole
    gln: str
    country: str
    customer_type: str | None = None

    @property
    def location(self) -> str:
        """The site's location URI (GS1 Digital Link of its GLN)."""
        return f"https://id.gs1.org/414/{self.gln}"


@dataclass(slots=True)
class Customer:
    """A buyer at sales events: a private person or a professional (farm, pool, laboratory…)."""

    ref: str
    customer_type: str
    address_ref: str
    home_shop: str
    products: tuple[str, ...]
    rate_per_day: float
    typical_quantity: float
    business: bool = False


@dataclass(frozen=True, slots=True)
class Label:
    """One planted case: typology, the subject detection should name, and the events of its evidence."""

    case: str
    typology: str
    detail: str | None
    subject_type: SubjectType
    subject_id: str
    event_hash_ids: tuple[str, ...]
    first_event_time: str

    def to_json(self) -> dict[str, Any]:
        """The ``labels.jsonl`` line of this case."""
        return {
            "case": self.case,
            "typology": self.typology,
            "detail": self.detail,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "event_hash_ids": list(self.event_hash_ids),
            "first_event_time": self.first_event_time,
        }


@dataclass(slots=True)
class Manifest:
    """What a run produced (``manifest.json``)."""

    seed: int
    days: int
    start: str
    scale: float
    jurisdiction: str
    generator_version: str = GENERATOR_VERSION
    events: int = 0
    documents: int = 0
    parties: int = 0
    event_types: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    not_planted: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manifest as written (keys sorted by the writer)."""
        return {
            "seed": self.seed,
            "days": self.days,
            "start": self.start,
            "scale": self.scale,
            "jurisdiction": self.jurisdiction,
            "generator_version": self.generator_version,
            "counts": {
                "events": self.events,
                "documents": self.documents,
                "parties": self.parties,
                "event_types": dict(sorted(self.event_types.items())),
                "cases": dict(sorted(self.cases.items())),
            },
            "not_planted": dict(sorted(self.not_planted.items())),
            "fake_data": True,
        }


__all__ = [
    "GENERATOR_VERSION",
    "TYPOLOGIES",
    "Customer",
    "Label",
    "Manifest",
    "ProductSpec",
    "SimConfig",
    "SimSite",
    "SiteRole",
    "SubjectType",
]
