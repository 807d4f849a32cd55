"""Physical stock and the business steps that move it, each one emitting its EPCIS event.

The market keeps the *physical* stock of every site per product, lot by lot (first in, first out). Every
movement goes through an event, so the ledger's book stock equals the physical stock everywhere, except
where a planted case removes goods silently (theft) or loses them in transit: the stock counts then show
exactly what was planted. When a site must deliver more than it holds, it is restocked the same morning
from its supplier (recursively up to the producer or the importer), so stock never goes negative.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigichem.ledger import extensions as ext
from vigichem.ledger.gs1 import digital_link_class
from vigichem.sim import epcis
from vigichem.sim.models import Customer, ProductSpec, SimConfig
from vigichem.sim.population import Population

_CUSTOMER_REF = f"{ext.PREFIX}:{ext.CUSTOMER_REF}"
_PAYMENT = f"{ext.PREFIX}:{ext.PAYMENT_METHOD}"
_END_USE = f"{ext.PREFIX}:{ext.STATED_END_USE}"
_ID_VERIFIED = f"{ext.PREFIX}:{ext.ID_VERIFIED}"
_CUSTOMER_TYPE = f"{ext.PREFIX}:{ext.CUSTOMER_TYPE}"
_DELIVERY_TYPE = f"{ext.PREFIX}:{ext.DELIVERY_TYPE}"
_DELIVERY_REF = f"{ext.PREFIX}:{ext.DELIVERY_REF}"

Lots = list[list[Any]]  # [[epc_class, quantity], ...] oldest first


@dataclass(slots=True)
class Emitted:
    """An event of the current day with its sort key and, for planted events, the case tag."""

    moment: dt.datetime
    order: int
    event: dict[str, Any]
    tag: str | None


class Market:
    """Stock, restocking and the event builders bound to the population; collects one day of events."""

    def __init__(self, config: SimConfig, population: Population, products: dict[str, ProductSpec]) -> None:
        self.config = config
        self.population = population
        self.products = products
        self.rng = random.Random(f"{config.seed}:market")
        self.zone = dt.timezone(dt.timedelta(hours=config.utc_offset_hours))
        self.stock: dict[tuple[str, str], Lots] = {}
        # Stock entries that went down since the last reorder check; a dict, not a set, so that the
        # iteration order (and so the output) does not depend on string hash randomisation.
        self.touched: dict[tuple[str, str], None] = {}
        self.day_events: list[Emitted] = []
        self.day = config.start
        self._order = 0
        self._transformations = 0
        self.scheduled: dict[dt.date, list[Callable[[], None]]] = {}

    def schedule(self, day: dt.date, action: Callable[[], None]) -> None:
        """Run ``action`` when the simulation reaches ``day`` (e.g. the receipt of a shipment)."""
        self.scheduled.setdefault(day, []).append(action)

    def run_scheduled(self) -> None:
        """Run what was scheduled for today, in scheduling order."""
        for action in self.scheduled.pop(self.day, []):
            action()

    # ---- time and emission ------------------------------------------------------------------------

    def at(self, hour: int, minute: int | None = None, day: dt.date | None = None) -> dt.datetime:
        """A moment of ``day`` (default: today) at ``hour`` and a random or given minute, local time."""
        on = day or self.day
        minute = self.rng.randrange(60) if minute is None else minute
        return dt.datetime(on.year, on.month, on.day, hour, minute, self.rng.randrange(60), tzinfo=self.zone)

    def emit(self, moment: dt.datetime, event: dict[str, Any], tag: str | None = None) -> dict[str, Any]:
        """Add an event to the day (written in time order at the end of the day)."""
        self._order += 1
        self.day_events.append(Emitted(moment, self._order, event, tag))
        return event

    def take_day(self) -> list[Emitted]:
        """The day's events in time order (then emission order); the buffer is emptied."""
        events = sorted(self.day_events, key=lambda e: (e.moment, e.order))
        self.day_events = []
        return events

    # ---- stock ------------------------------------------------------------------------------------

    def on_hand(self, site: str, product: str) -> float:
        """Physical quantity of ``product`` at ``site`` (all lots)."""
        return float(sum(q for _, q in self.stock.get((site, product), ())))

    def put(self, site: str, product: str, quantities: epcis.Quantities) -> None:
        """Add lots to a site's stock (merging with the same lot)."""
        lots = self.stock.setdefault((site, product), [])
        for epc_class, quantity in quantities:
            for lot in lots:
                if lot[0] == epc_class:
                    lot[1] += quantity
                    break
            else:
                lots.append([epc_class, quantity])

    def take(self, site: str, product: str, quantity: float) -> epcis.Quantities:
        """Remove ``quantity`` first in, first out; the caller made sure enough is on hand."""
        self.touched[(site, product)] = None
        lots = self.stock.get((site, product), [])
        taken: epcis.Quantities = []
        left = quantity
        while left > 0 and lots:
            epc_class, available = lots[0]
            part = min(available, left)
            taken.append((epc_class, part))
            left -= part
            if part == available:
                lots.pop(0)
            else:
                lots[0][1] = available - part
        if left > 0:
            raise AssertionError(f"stock of {product} at {site} short by {left}")  # a bug, never input
        return taken

    def lot_class(self, product: str, lot: str) -> str:
        """The epcClass (GS1 Digital Link) of a product lot."""
        return digital_link_class(self.products[product].gtin, lot)

    # ---- restocking -------------------------------------------------------------------------------

    def ensure(self, site: str, product: str, quantity: float, hour: int = 7) -> None:
        """Restock ``site`` the same morning when it holds less than ``quantity`` (recursively upstream)."""
        missing = quantity - self.on_hand(site, product)
        if missing <= 0:
            return
        role = self.population.sites[site].role
        spec = self.products[product]
        if role == "producer":
            amount = _round_up(max(missing, self.restock_size(site, product)))
            lot = f"L{self.day:%y%m}"
            quantities = [(self.lot_class(product, lot), amount)]
            moment = self.at(max(hour - 2, 0))
            self.emit(moment, epcis.production(moment, self._location(site), quantities, spec.unit))
            self.put(site, product, quantities)
            return
        supplier = self.population.supplier_of[(site, product)]
        amount = _round_up(max(missing, self.restock_size(site, product)))
        if role == "importer":
            lot = f"I{self.day:%y%m}"
            quantities = [(self.lot_class(product, lot), amount)]
            moment = self.at(max(hour - 1, 0))
            self.emit(
                moment,
                epcis.receipt(moment, self._location(site), self._location(supplier), quantities, spec.unit),
            )
            self.put(site, product, quantities)
            return
        self.ensure(supplier, product, amount, hour - 1)
        self.transfer(supplier, site, product, amount, self.at(max(hour - 1, 0)), self.at(hour))

    def restock_size(self, site: str, product: str) -> float:
        """How much a site orders at a time."""
        role = self.population.sites[site].role
        bulk = self.products[product].unit == "KGM"
        if role in ("shop_counter", "shop_online"):
            return 2000.0 if bulk else 24.0
        if role == "customer":
            return 0.0
        return 60000.0 if bulk else 400.0

    def transfer(
        self,
        source: str,
        destination: str,
        product: str,
        quantity: float,
        shipped_at: dt.datetime,
        received_at: dt.datetime | None,
        *,
        received_quantity: float | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """Ship from ``source`` and (unless ``received_at`` is None) receive at ``destination``."""
        spec = self.products[product]
        quantities = self.take(source, product, quantity)
        shipped = self.emit(
            shipped_at,
            epcis.shipment(
                shipped_at, self._location(source), self._location(destination), quantities, spec.unit
            ),
            tag,
        )
        if received_at is not None:
            received = quantities
            if received_quantity is not None:
                received = [(quantities[0][0], received_quantity)]
            receipt_tag = tag if received_quantity is not None else None

            def receive() -> None:
                event = epcis.receipt(
                    received_at, self._location(destination), self._location(source), received, spec.unit
                )
                self.emit(received_at, event, receipt_tag)
                self.put(destination, product, received)

            if received_at.date() == self.day:
                receive()
            else:
                self.schedule(received_at.date(), receive)
        return shipped

    def _location(self, site: str) -> str:
        return self.population.sites[site].location

    # ---- sales, use, disposal, counts ---------------------------------------------------------------

    def sell(
        self,
        site: str,
        customer: Customer,
        product: str,
        quantity: float,
        moment: dt.datetime,
        *,
        tag: str | None = None,
        payment: str | None = None,
        delivery: str | None = None,
        id_verified: bool | None = None,
        end_use: str | None = None,
        omit_end_use: bool = False,
    ) -> dict[str, Any]:
        """A sale to ``customer`` with the habits of its type unless overridden (planted indicators)."""
        spec = self.products[product]
        self.ensure(site, product, quantity)
        quantities = self.take(site, product, quantity)
        role = self.population.sites[site].role
        if delivery is None:
            if customer.business:
                delivery = "business_address"
            else:
                delivery = "private_address" if role == "shop_online" else "counter"
        if payment is None:
            if customer.business:
                payment = self.rng.choice(("invoice", "bank_transfer"))
            elif role == "shop_online":
                payment = "card"
            else:
                payment = self.rng.choices(("card", "cash", "mobile"), (70, 25, 5))[0]
        # Written directly rather than through ext.build_extensions: its checks cost a third of the run
        # time, and the values come from the vocabularies it checks (the tests check every event).
        fields: dict[str, Any] = {_CUSTOMER_REF: customer.ref, _PAYMENT: payment}
        if spec.controlled and not omit_end_use:
            fields[_END_USE] = end_use or self.rng.choice(spec.end_uses)
        if spec.controlled:
            fields[_ID_VERIFIED] = True if id_verified is None else id_verified
        fields[_CUSTOMER_TYPE] = customer.customer_type
        fields[_DELIVERY_TYPE] = delivery
        if delivery != "counter":
            fields[_DELIVERY_REF] = customer.address_ref
        return self.emit(moment, epcis.sale(moment, self._location(site), quantities, spec.unit, fields), tag)

    def consume(self, site: str, product: str, quantity: float, moment: dt.datetime) -> None:
        """Use in a process at a professional site (TransformationEvent, inputs only)."""
        quantity = min(quantity, self.on_hand(site, product))
        if quantity <= 0:
            return
        self._transformations += 1
        transformation = f"urn:uuid:{_uuid_of(self.config.seed, self._transformations)}"
        quantities = self.take(site, product, quantity)
        self.emit(
            moment,
            epcis.use(moment, self._location(site), quantities, self.products[product].unit, transformation),
        )

    def dispose(self, site: str, product: str, quantity: float, moment: dt.datetime) -> None:
        """Destroy damaged goods (when there are any)."""
        quantity = min(quantity, self.on_hand(site, product))
        if quantity <= 0:
            return
        quantities = self.take(site, product, quantity)
        self.emit(
            moment, epcis.disposal(moment, self._location(site), quantities, self.products[product].unit)
        )

    def count(
        self, site: str, product: str, moment: dt.datetime, tag: str | None = None
    ) -> list[dict[str, Any]]:
        """Count each lot of ``product`` on hand at ``site`` (one event per lot)."""
        events = []
        unit = self.products[product].unit
        for epc_class, quantity in self.stock.get((site, product), ()):
            if quantity > 0:
                events.append(
                    self.emit(
                        moment,
                        epcis.stock_count(moment, self._location(site), [(epc_class, quantity)], unit),
                        tag,
                    )
                )
        return events


def _round_up(quantity: float) -> float:
    return float(int(quantity) + (0 if quantity == int(quantity) else 1))


def _uuid_of(seed: int, number: int) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://vigichem.org/sim/{seed}/transformation/{number}"))


__all__ = ["Emitted", "Market"]
