"""Planted cases: each planter imitates one indicator of suspicious activity, with its ground-truth label.

Sources of the indicators: Regulation (EU) 2019/1148 Art. 9 (suspicious transactions, disappearances and
thefts of explosives precursors) and the Commission guidelines on its implementation (C/2020/7158: unusual
quantities, combinations of precursors, unusual payment, refusal to show ID, no plausible end use, delivery
to unusual places); the US DEA suspicious-order definition (21 CFR 1300.01: orders of unusual size,
deviating substantially from a normal pattern, or of unusual frequency) and 21 CFR 1310.05 (reports of
unusual or excessive loss or disappearance, and of shipments not received); for the designer precursor,
chemicals that the EU and UN drug-precursor lists added later (knowledge-base ``effective_from``),
simulated before that date. No planter invents a chemical: every product comes from the catalogue.

A planter runs on its start day, may schedule the rest of its events on later days, tags every evidence
event with its case id (the writer turns tags into Event Hash IDs) and returns the case's subject.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from vigichem.ledger.hashid import event_hash_ids
from vigichem.sim import epcis
from vigichem.sim.market import Market
from vigichem.sim.models import Customer, SubjectType
from vigichem.sim.population import PopulationBuilder

SALE_INDICATOR_DETAILS = (
    "cash",
    "no_id",
    "no_end_use",
    "private_address_company_order",
    "many_buyers_one_address",
)
"""The ``detail`` values of ``sale_indicator`` labels (one indicator each)."""


@dataclass(slots=True)
class Planted:
    """A planted case as the planter returns it (evidence hash IDs come from the tags)."""

    case: str
    typology: str
    detail: str | None
    subject_type: SubjectType
    subject_id: str


@dataclass(slots=True)
class PlantContext:
    """What a planter works with."""

    market: Market
    builder: PopulationBuilder
    rng: random.Random
    new_parties: list[dict[str, object]]
    designer_product: str | None = None

    def customer(self, customer_type: str = "private", address_ref: str | None = None) -> Customer:
        """A new buyer without history; its fake party record is written with the others."""
        customer, record = self.builder.new_customer(customer_type, address_ref=address_ref)
        self.new_parties.append(record)
        return customer

    def later(self, days: int, action: Callable[[], None]) -> None:
        """Run ``action`` ``days`` after today (0: now)."""
        if days == 0:
            action()
        else:
            self.market.schedule(self.market.day + dt.timedelta(days=days), action)

    def sites(self, *roles: str) -> list[str]:
        """Site ids with one of ``roles``."""
        return [s.id for s in self.market.population.by_role(*roles)]  # type: ignore[arg-type]


Planter = Callable[[PlantContext, str, int], Planted]
"""(context, case id, sequence number of the case) -> the planted case."""


def hash_of(event: dict[str, object]) -> str:
    """The CBV 2.0 Event Hash ID of a simulated event (its document context)."""
    return event_hash_ids({"@context": epcis.CONTEXT, "epcisBody": {"eventList": [event]}})[0]


def _sell_on(
    ctx: PlantContext,
    days: int,
    shop: str,
    customer: Customer,
    product: str,
    quantity: float,
    case: str | None,
    **overrides: object,
) -> None:
    def sale() -> None:
        moment = ctx.market.at(ctx.rng.randint(9, 17))
        ctx.market.sell(shop, customer, product, quantity, moment, tag=case, **overrides)  # type: ignore[arg-type]

    ctx.later(days, sale)


def split_purchase(ctx: PlantContext, case: str, number: int) -> Planted:
    """Repeated small purchases by one buyer at one seller, each at most the usual package count, adding up.

    Indicator: EU 2019/1148 guidelines ("frequent purchases in small quantities", splitting to stay under a
    limit); DEA 21 CFR 1300.01 "orders of unusual frequency". Hydrogen peroxide 12 %, at the Annex I limit
    value, five purchases of three litres within nine days.
    """
    buyer = ctx.customer()
    shop = ctx.rng.choice(ctx.sites("shop_counter"))
    for offset in (0, 2, 4, 6, 8):
        _sell_on(ctx, offset, shop, buyer, "h2o2-12", 3.0, case)
    return Planted(case, "split_purchase", None, "party", buyer.ref)


def split_purchase_multi_seller(ctx: PlantContext, case: str, number: int) -> Planted:
    """The same buyer splitting purchases over several sellers (only the authority sees them all).

    Indicator: EU 2019/1148 guidelines (purchases spread over several outlets); linked by the pseudonymous
    party key across operators. Hydrogen peroxide 12 %, four shops in six days.
    """
    buyer = ctx.customer()
    shops = ctx.rng.sample(ctx.sites("shop_counter"), min(4, len(ctx.sites("shop_counter"))))
    for offset, shop in zip((0, 1, 3, 5), shops * 4, strict=False):
        _sell_on(ctx, offset, shop, buyer, "h2o2-12", 3.0, case)
    return Planted(case, "split_purchase_multi_seller", None, "party", buyer.ref)


def quantity_spike(ctx: PlantContext, case: str, number: int) -> Planted:
    """One order far above the buyer's own history (even cases) or above what its customer type buys (odd).

    Indicator: DEA 21 CFR 1300.01 "orders of unusual size" and "deviating substantially from a normal
    pattern"; EU 2019/1148 guidelines "unusual quantities for the customer's needs".
    """
    if number % 2 == 0:
        buyer = ctx.customer("laboratory")
        for offset in (0, 3, 6):  # an ordinary history first (not evidence)
            _sell_on(ctx, offset, buyer.home_shop, buyer, "h2o2-30", 2.0, None)
        _sell_on(ctx, 9, buyer.home_shop, buyer, "h2o2-30", 40.0, case)
        return Planted(case, "quantity_spike", "own_history", "party", buyer.ref)
    buyer = ctx.customer()
    _sell_on(ctx, 0, buyer.home_shop, buyer, "acetone", 30.0, case)
    return Planted(case, "quantity_spike", "customer_type", "party", buyer.ref)


def unusual_combination(ctx: PlantContext, case: str, number: int) -> Planted:
    """Several explosives precursors bought by one private buyer within days.

    Indicator: EU 2019/1148 guidelines (purchase of a combination of precursors, e.g. hydrogen peroxide with
    acetone and an acid). Each purchase alone is an ordinary package.
    """
    buyer = ctx.customer()
    shops = ctx.sites("shop_counter")
    acid = "hcl-33" if number % 2 == 0 else "sulphuric-37"
    plan = ((0, "h2o2-12", 2.0), (2, "acetone", 2.0), (4, acid, 1.0))
    for offset, product, quantity in plan:
        _sell_on(ctx, offset, ctx.rng.choice(shops), buyer, product, quantity, case)
    return Planted(case, "unusual_combination", None, "party", buyer.ref)


def sale_indicator(ctx: PlantContext, case: str, number: int) -> Planted:
    """One of the indicators at the sale itself; ``detail`` names which.

    EU 2019/1148 Art. 9 and the Commission guidelines: payment in cash of a large amount (``cash``), refusal
    to show an identity document (``no_id``), no plausible end use stated (``no_end_use``), delivery of a
    company order to a private address or PO box (``private_address_company_order``), and many unrelated
    buyers having goods delivered to one address (``many_buyers_one_address``).
    """
    detail = SALE_INDICATOR_DETAILS[number % len(SALE_INDICATOR_DETAILS)]
    if detail == "cash":
        buyer = ctx.customer("farm")
        _sell_on(ctx, 0, buyer.home_shop, buyer, "an-fert", 1500.0, case, payment="cash")
    elif detail == "no_id":
        buyer = ctx.customer()
        _sell_on(
            ctx,
            0,
            ctx.rng.choice(ctx.sites("shop_counter")),
            buyer,
            "kno3-fert",
            1.0,
            case,
            id_verified=False,
        )
    elif detail == "no_end_use":
        buyer = ctx.customer()
        _sell_on(
            ctx, 0, ctx.rng.choice(ctx.sites("shop_counter")), buyer, "h2o2-12", 2.0, case, omit_end_use=True
        )
    elif detail == "private_address_company_order":
        buyer = ctx.customer("laboratory")
        delivery = "po_box" if number % 2 else "private_address"
        _sell_on(ctx, 0, buyer.home_shop, buyer, "h2o2-30", 4.0, case, delivery=delivery)
    else:
        address = ctx.builder.new_address_ref()
        online = ctx.sites("shop_online")
        for offset in range(5):
            buyer = ctx.customer(address_ref=address)
            product = ("h2o2-12", "acetone", "kno3-fert")[offset % 3]
            _sell_on(ctx, offset * 2, ctx.rng.choice(online), buyer, product, 1.0, case)
        return Planted(case, "sale_indicator", detail, "address", address)
    return Planted(case, "sale_indicator", detail, "party", buyer.ref)


def theft_loss(ctx: PlantContext, case: str, number: int) -> Planted:
    """Goods disappear from a site's stock without any event; the evening count shows the loss.

    Indicator: EU 2019/1148 Art. 9(1) (significant disappearances and thefts to be reported within 24 h);
    DEA 21 CFR 1310.05(b) (unusual or excessive loss or disappearance).
    """
    market = ctx.market
    site = ctx.rng.choice(ctx.sites("shop_counter", "distributor"))
    product = ("h2o2-35", "kno3-fert", "acetone", "h2o2-12")[number % 4]
    market.ensure(site, product, 10.0, hour=7)
    cap = 1000 if market.products[product].unit == "KGM" else 60  # a plausible haul, not the whole store
    stolen = float(max(2, min(cap, int(market.on_hand(site, product) * ctx.rng.uniform(0.2, 0.4)))))
    market.take(site, product, stolen)
    market.count(site, product, market.at(22), tag=case)
    return Planted(case, "theft_loss", None, "site", market.population.sites[site].location)


def _dedicated_shipment(ctx: PlantContext, case: str, number: int, short: bool) -> Planted:
    market = ctx.market
    product = ("h2o2-35", "an-fert", "nitric-65")[number % 3]
    producer = market.population.makers[product]
    quantity = 20000.0 if market.products[product].unit == "KGM" else 200.0
    lot_class = market.lot_class(product, ("R" if short else "N") + case[-4:])
    moment = market.at(6)
    market.emit(
        moment,
        epcis.production(
            moment,
            market.population.sites[producer].location,
            [(lot_class, quantity)],
            market.products[product].unit,
        ),
    )
    market.put(producer, product, [(lot_class, quantity)])
    destination = ctx.rng.choice(ctx.sites("distributor"))
    received_at = market.at(9, day=market.day + dt.timedelta(days=1)) if short else None
    received = float(int(quantity * ctx.rng.uniform(0.8, 0.95))) if short else None
    # The dedicated lot is the only stock of it at the producer, so the shipment carries exactly that lot.
    stock = market.stock[(producer, product)]
    stock.sort(key=lambda lot: lot[0] != lot_class)
    shipped = market.transfer(
        producer,
        destination,
        product,
        quantity,
        market.at(16),
        received_at,
        received_quantity=received,
        tag=case,
    )
    typology = "shipment_short" if short else "shipment_not_received"
    return Planted(case, typology, None, "shipment", hash_of(shipped))


def shipment_not_received(ctx: PlantContext, case: str, number: int) -> Planted:
    """A shipment of a whole lot that its consignee never receives.

    Indicator: DEA 21 CFR 1310.05 (in-transit loss) and EU 2019/1148 Art. 9 (disappearance); the ledger's
    transit check reports a shipment without receipt after the transit period.
    """
    return _dedicated_shipment(ctx, case, number, short=False)


def shipment_short(ctx: PlantContext, case: str, number: int) -> Planted:
    """A shipment received the next day with 5-20 % missing.

    Indicator: as :func:`shipment_not_received` (partial loss in transit).
    """
    return _dedicated_shipment(ctx, case, number, short=True)


def designer_precursor(ctx: PlantContext, case: str, number: int) -> Planted:
    """Sales of a chemical that a drug-precursor list added later, before its listing date.

    Indicator: the designer-precursor watch (EU Regulation 273/2004 Art. 10 and 111/2005 Art. 9 voluntary
    monitoring of non-scheduled substances; the UN 1988 Convention Art. 12 and INCB limited international
    special surveillance list). The chemical and its listing date come from the knowledge base.
    """
    assert ctx.designer_product is not None  # the service plants this typology only when there is one
    buyer = ctx.customer()
    shop = ctx.rng.choice(ctx.sites("shop_online"))
    for offset in (0, 3):
        _sell_on(ctx, offset, shop, buyer, ctx.designer_product, 1.0, case)
    return Planted(case, "designer_precursor", None, "party", buyer.ref)


PLANTERS: dict[str, tuple[Planter, int]] = {
    "split_purchase": (split_purchase, 9),
    "split_purchase_multi_seller": (split_purchase_multi_seller, 6),
    "quantity_spike": (quantity_spike, 10),
    "unusual_combination": (unusual_combination, 5),
    "sale_indicator": (sale_indicator, 9),
    "theft_loss": (theft_loss, 1),
    "shipment_not_received": (shipment_not_received, 15),
    "shipment_short": (shipment_short, 2),
    "designer_precursor": (designer_precursor, 4),
}
"""Typology -> (planter, days the case spans; the last simulated days leave room for it)."""

__all__ = ["PLANTERS", "SALE_INDICATOR_DETAILS", "PlantContext", "Planted", "Planter", "hash_of"]
