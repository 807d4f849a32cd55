"""Ordinary business: the background against which planted cases must stand out.

Each simulated day: private and professional buyers purchase (Poisson numbers of buyers per group, with
weekly and seasonal rhythms), B2B users receive and consume bulk chemicals, shops and distributors reorder
from their suppliers (delivered one or two days later), distributors export now and then (the foreign
consignee's receipt is recorded too, as partner nodes would share it), shops destroy the odd damaged
package, and every site counts its stock on the 28th of the month. The habits are plausible orders of
magnitude, not measured data.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random

from vigichem.sim.market import Market
from vigichem.sim.models import Customer, SiteRole
from vigichem.sim.population import BULK_FARM_KG

REORDER_AT = {"shop_counter": (6.0, 500.0), "shop_online": (6.0, 500.0), "distributor": (100.0, 15000.0)}
"""(items, kg) below which a site reorders from its supplier."""
COUNTED_ROLES: tuple[SiteRole, ...] = ("producer", "importer", "distributor", "shop_counter", "shop_online")
COUNT_DAY = 28
MAX_TRANSIT_DAYS = 3


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth below 30, normal approximation above)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def season(customer_type: str, day: dt.date) -> float:
    """Seasonal demand factor: fertiliser in spring, pool chemicals in summer."""
    if customer_type == "farm":
        return 2.5 if 2 <= day.month <= 5 else 0.4
    if customer_type == "pool":
        return 2.5 if 5 <= day.month <= 9 else 0.3
    return 1.0


class Demand:
    """Generates one day of ordinary business into the market."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.rng = random.Random(f"{market.config.seed}:demand")
        self.groups: dict[str, list[Customer]] = {}
        for customer in market.population.customers:
            self.groups.setdefault(customer.customer_type, []).append(customer)
        self.pending_orders: set[tuple[str, str]] = set()

    def run_day(self, day_index: int) -> None:
        """Everything ordinary that happens on the market's current day."""
        market, day = self.market, self.market.day
        last_days = day_index >= market.config.days - MAX_TRANSIT_DAYS - 1
        self._purchases(day)
        self._b2b(day, day_index, last_days)
        if not last_days:
            self._exports(day)
            self._reorders(day)
        self._disposals()
        if day.day == COUNT_DAY:
            self._counts()

    def _purchases(self, day: dt.date) -> None:
        market, rng = self.market, self.rng
        sunday = day.weekday() == 6
        for customer_type, customers in self.groups.items():
            mean = len(customers) * customers[0].rate_per_day * season(customer_type, day)
            for _ in range(poisson(rng, mean * (0.3 if sunday else 1.0))):
                customer = rng.choice(customers)
                if not customer.products:
                    continue
                shop = customer.home_shop
                if sunday and market.population.sites[shop].role == "shop_counter":
                    continue
                product = rng.choice(customer.products)
                market.sell(
                    shop, customer, product, self._quantity(customer, product), market.at(rng.randint(8, 18))
                )

    def _quantity(self, customer: Customer, product: str) -> float:
        rng = self.rng
        if self.market.products[product].unit == "KGM":
            return float(max(1, round(BULK_FARM_KG * rng.uniform(0.6, 1.4) / 100)) * 100)
        if not customer.business:
            return 2.0 if rng.random() < 0.15 else 1.0
        return float(max(1, round(customer.typical_quantity * rng.uniform(0.5, 1.5))))

    def _b2b(self, day: dt.date, day_index: int, last_days: bool) -> None:
        market, rng = self.market, self.rng
        for index, (site, products, quantity) in enumerate(market.population.b2b):
            period = 14 if site.customer_type == "mine" else 10
            product = products[(day_index // period + index) % len(products)]
            supplier = market.population.supplier_of[(site.id, product)]
            if (day_index + index) % period == 0 and not last_days:
                market.ensure(supplier, product, quantity, hour=12)
                market.transfer(
                    supplier,
                    site.id,
                    product,
                    quantity,
                    market.at(13),
                    market.at(9, day=day + dt.timedelta(days=1)),
                )
            if day.weekday() < 5:
                for used in products:
                    daily = round(quantity / period * rng.uniform(0.8, 1.4))
                    market.consume(site.id, used, float(max(1, daily)), market.at(15))

    def _exports(self, day: dt.date) -> None:
        market, rng = self.market, self.rng
        if day.day != 15:
            return
        buyers = market.population.by_role("foreign_customer")
        for distributor in market.population.by_role("distributor"):
            if rng.random() < 0.5:
                product, quantity = rng.choice((("h2o2-35", 40.0), ("an-fert", 20000.0)))
                market.ensure(distributor.id, product, quantity, hour=9)
                arrival = market.at(10, day=day + dt.timedelta(days=MAX_TRANSIT_DAYS))
                market.transfer(
                    distributor.id, rng.choice(buyers).id, product, quantity, market.at(11), arrival
                )

    def _reorders(self, day: dt.date) -> None:
        market, rng = self.market, self.rng
        sites = market.population.sites
        touched, market.touched = market.touched, {}
        for site, product in touched:
            lots = market.stock[(site, product)]
            role = sites[site].role
            if role not in REORDER_AT or (site, product) in self.pending_orders:
                continue
            items, kg = REORDER_AT[role]
            threshold = kg if market.products[product].unit == "KGM" else items
            if sum(q for _, q in lots) >= threshold:
                continue
            supplier = market.population.supplier_of[(site, product)]
            amount = market.restock_size(site, product)
            market.ensure(supplier, product, amount, hour=17)
            arrival = day + dt.timedelta(days=rng.randint(1, 2))
            self.pending_orders.add((site, product))
            market.transfer(supplier, site, product, amount, market.at(18), market.at(7, day=arrival))
            market.schedule(arrival, functools.partial(self.pending_orders.discard, (site, product)))

    def _disposals(self) -> None:
        market, rng = self.market, self.rng
        shops = market.population.by_role("shop_counter")
        for _ in range(poisson(rng, len(shops) * 0.02)):
            shop = rng.choice(shops)
            held = [p for p in market.products if market.on_hand(shop.id, p) > 0]
            if held:
                market.dispose(shop.id, rng.choice(held), 1.0, market.at(19))

    def _counts(self) -> None:
        market = self.market
        for site in market.population.by_role(*COUNTED_ROLES):
            for product in market.products:
                if market.on_hand(site.id, product) > 0:
                    market.count(site.id, product, market.at(21))


__all__ = ["COUNT_DAY", "Demand", "poisson", "season"]
