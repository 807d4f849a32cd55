"""The simulated national chain: organisations and sites, and the buyers with their habits.

All of it is invented: company and person names come from ``faker`` (seeded, so the same seed gives the
same people) and every party record says ``"fake": true``. GLNs use invented company prefixes per country
(check digits valid). Buyers' habits (products, quantities, how often) are plausible orders of magnitude,
not measured data: farms buy fertiliser in spring, pools buy treatment chemicals in summer, laboratories
buy small quantities all year, private buyers rarely and in single packages.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from vigichem.ledger.gs1 import gs1_check_digit
from vigichem.sim.models import Customer, ProductSpec, SimConfig, SimSite, SiteRole

COUNTRY_PREFIX = {"FR": "3012345", "DE": "4012345", "BE": "5412345", "ES": "8412345", "MA": "6112345"}
"""Invented GS1 company prefixes, one per country, for site GLNs."""
LOCALES = {"FR": "fr_FR", "DE": "de_DE", "BE": "fr_BE", "ES": "es_ES", "MA": "fr_FR"}

PRIVATE_CONTROLLED = ("h2o2-6", "h2o2-12", "acetone", "hcl-33", "sulphuric-37", "kno3-fert")
PRIVATE_ORDINARY = ("ethanol-96", "bleach", "citric", "tcca")


@dataclass(frozen=True, slots=True)
class Habit:
    """What a professional customer type buys: products, typical quantity (items or kg) and rate per day."""

    products: tuple[str, ...]
    quantity: float
    rate_per_day: float
    pick: int


PROFESSIONAL_HABITS: dict[str, Habit] = {
    "farm": Habit(("an-fert", "kno3-fert", "urea-fert", "h2o2-35"), 4, 1 / 20, 2),
    "pool": Habit(("h2o2-35", "hcl-33", "tcca"), 3, 1 / 10, 3),
    "laboratory": Habit(
        ("h2o2-30", "nitric-65", "sulphuric-96", "acetone", "ac2o", "kmno4", "kclo3", "ethanol-96"),
        2,
        1 / 12,
        4,
    ),
}
BULK_FARM_KG = 1500.0
"""A farm's typical bulk ammonium-nitrate fertiliser purchase (kg)."""


@dataclass(slots=True)
class Population:
    """Sites by role, buyers, and who supplies whom."""

    sites: dict[str, SimSite] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    supplier_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (site, product) -> upstream site
    makers: dict[str, str] = field(default_factory=dict)  # product -> producing or importing site
    b2b: list[tuple[SimSite, tuple[str, ...], float]] = field(default_factory=list)
    _by_role: dict[tuple[SiteRole, ...], list[SimSite]] = field(default_factory=dict)
    _sites_seen: int = 0

    def by_role(self, *roles: SiteRole) -> list[SimSite]:
        """Sites with one of ``roles``, in creation order (cached: sites are all created before the run)."""
        if len(self.sites) != self._sites_seen:
            self._by_role.clear()
            self._sites_seen = len(self.sites)
        if roles not in self._by_role:
            self._by_role[roles] = [s for s in self.sites.values() if s.role in roles]
        return self._by_role[roles]


def _mailbox(name: str) -> str:
    """An e-mail local part from a name (cheaper than a second faker name for ``fake.email()``)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return ".".join(part for part in "".join(c if c.isalnum() else " " for c in plain).split()) or "contact"


def _count(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _ref(rng: random.Random, prefix: str) -> str:
    return prefix + f"{rng.getrandbits(128):032x}"


class PopulationBuilder:
    """Builds the population and yields the fake personal data of every buyer (for ``parties.jsonl``)."""

    def __init__(self, config: SimConfig, products: dict[str, ProductSpec]) -> None:
        self.config = config
        self.products = products
        self.rng = random.Random(f"{config.seed}:population")
        self.fakers: dict[str, Faker] = {}
        self.population = Population()
        self._gln_counter: dict[str, int] = {}
        self.organisations: list[dict[str, Any]] = []

    def _faker(self, country: str) -> Faker:
        if country not in self.fakers:
            fake = Faker(LOCALES.get(country, "fr_FR"))
            fake.seed_instance(f"{self.config.seed}:{country}")
            self.fakers[country] = fake
        return self.fakers[country]

    def _site(self, role: SiteRole, country: str, customer_type: str | None = None) -> SimSite:
        number = self._gln_counter.get(country, 0) + 1
        self._gln_counter[country] = number
        body = f"{COUNTRY_PREFIX[country]}{number:05d}"
        org_id = f"{role.replace('_', '-')}-{country.lower()}-{number:05d}"
        name = str(self._faker(country).company())
        self.organisations.append({"id": org_id, "name": f"{name} (fake)", "country": country})
        site = SimSite(
            id=f"{org_id}-s1",
            organisation=org_id,
            name=f"{name} site 1",
            role=role,
            gln=body + str(gs1_check_digit(body)),
            country=country,
            customer_type=customer_type,
        )
        self.population.sites[site.id] = site
        return site

    def build_sites(self) -> None:
        """Producers, importers and foreign suppliers, distributors, shops, B2B users, foreign buyers."""
        scale, home, pop = self.config.scale, self.config.country, self.population
        producers = [self._site("producer", home) for _ in range(2)]
        foreign = [self._site("foreign_supplier", c) for c in ("DE", "BE")]
        importers = [self._site("importer", home) for _ in range(2)]
        distributors = [self._site("distributor", home) for _ in range(_count(4, scale))]
        counters = [self._site("shop_counter", home) for _ in range(_count(16, scale))]
        online = [self._site("shop_online", home) for _ in range(_count(3, scale))]
        for country in ("ES", "MA"):  # consignees of exports, found again by role
            self._site("foreign_customer", country)
        made = [p for p in self.products.values() if not p.imported]
        imported = [p for p in self.products.values() if p.imported]
        for index, product in enumerate(made):
            pop.makers[product.id] = producers[index % len(producers)].id
        for index, product in enumerate(imported):
            importer = importers[index % len(importers)]
            pop.makers[product.id] = importer.id
            pop.supplier_of[(importer.id, product.id)] = foreign[index % len(foreign)].id
        for index, shop in enumerate(counters + online):
            distributor = distributors[index % len(distributors)]
            for product in self.products.values():
                pop.supplier_of[(shop.id, product.id)] = distributor.id
        for distributor in distributors:
            for product in self.products.values():
                pop.supplier_of[(distributor.id, product.id)] = pop.makers[product.id]
        for _ in range(_count(2, scale)):
            pop.b2b.append((self._site("customer", home, "mine"), ("an-fert",), 8000.0))
        for index in range(_count(4, scale)):
            uses = ("h2o2-35",) if index % 2 == 0 else ("acetone", "ac2o")
            pop.b2b.append((self._site("customer", home, "manufacturer"), uses, 10.0))
        for site, _, _ in pop.b2b:
            for product in self.products.values():
                pop.supplier_of[(site.id, product.id)] = distributors[len(site.id) % len(distributors)].id

    def customers(self) -> Iterator[dict[str, Any]]:
        """Create the buyers; yield each one's fake party record (the population keeps the habits only)."""
        scale, home, rng, pop = self.config.scale, self.config.country, self.rng, self.population
        distributors = pop.by_role("distributor")
        shops = pop.by_role("shop_counter", "shop_online")
        fake = self._faker(home)
        for customer_type, habit in PROFESSIONAL_HABITS.items():
            base = {"farm": 30, "pool": 15, "laboratory": 8}[customer_type]
            for _ in range(_count(base, scale)):
                products = tuple(sorted(rng.sample(habit.products, habit.pick)))
                customer = Customer(
                    ref=_ref(rng, "pty-"),
                    customer_type=customer_type,
                    address_ref=_ref(rng, "adr-"),
                    home_shop=rng.choice(distributors).id,
                    products=products,
                    rate_per_day=habit.rate_per_day,
                    typical_quantity=habit.quantity,
                    business=True,
                )
                pop.customers.append(customer)
                yield self._party(customer, fake, organisation=True)
        for _ in range(_count(1500, scale)):
            controlled = [rng.choice(PRIVATE_CONTROLLED)] if rng.random() < 0.6 else []
            ordinary = rng.sample(PRIVATE_ORDINARY, rng.randint(1, 2))
            customer = Customer(
                ref=_ref(rng, "pty-"),
                customer_type="private",
                address_ref=_ref(rng, "adr-"),
                home_shop=rng.choice(shops).id,
                products=tuple(controlled + sorted(ordinary)),
                rate_per_day=1 / 45,
                typical_quantity=1,
            )
            pop.customers.append(customer)
            yield self._party(customer, fake, organisation=False)

    def new_customer(
        self, customer_type: str = "private", *, address_ref: str | None = None
    ) -> tuple[Customer, dict[str, Any]]:
        """One more buyer with no history (planted cases); returns it and its fake party record."""
        business = customer_type != "private"
        pop = self.population
        shops = pop.by_role("distributor") if business else pop.by_role("shop_counter", "shop_online")
        customer = Customer(
            ref=_ref(self.rng, "pty-"),
            customer_type=customer_type,
            address_ref=address_ref or _ref(self.rng, "adr-"),
            home_shop=self.rng.choice(shops).id,
            products=(),
            rate_per_day=0.0,
            typical_quantity=1,
            business=business,
        )
        return customer, self._party(customer, self._faker(self.config.country), organisation=business)

    def new_address_ref(self) -> str:
        """A fresh delivery-address reference (stands for a keyed pseudonym of an address)."""
        return _ref(self.rng, "adr-")

    def _party(self, customer: Customer, fake: Faker, *, organisation: bool) -> dict[str, Any]:
        full_name = str(fake.company() if organisation else fake.name())
        personal = {
            "full_name": full_name,
            "id_document_type": "company registration" if organisation else "national identity card",
            "id_document_number": fake.bothify("??######", letters="ABCDEFGHJKLMNPRSTUVWXYZ"),
            "address": str(fake.address()).replace("\n", ", "),
            "country": self.config.country,
            "email": f"{_mailbox(full_name)}@{fake.free_email_domain()}",
            "phone": str(fake.phone_number()),
        }
        return {
            "ref": customer.ref,
            "fake": True,
            "kind": "organisation" if organisation else "person",
            "customer_type": customer.customer_type,
            "address_ref": customer.address_ref,
            "personal": personal,
        }

    def masterdata(self) -> dict[str, Any]:
        """The master-data file content (organisations, sites, products) for ``vigichem masterdata load``."""
        sites = [
            {"id": s.id, "organisation": s.organisation, "name": s.name, "gln": s.gln}
            for s in self.population.sites.values()
        ]
        return {
            "organisations": self.organisations,
            "sites": sites,
            "products": [p.masterdata() for p in self.products.values()],
        }


__all__ = ["PROFESSIONAL_HABITS", "Population", "PopulationBuilder"]
