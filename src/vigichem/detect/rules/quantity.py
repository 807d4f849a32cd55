"""Quantity spike: a purchase far above the customer's own history, or above what its customer type buys.

Bases: EU 2019/1148 Art. 9(1)(c) ("quantities ... unusual for legitimate use") and 21 CFR 1310.05(a)(1)
("an extraordinary quantity of a listed chemical"). The comparison is with medians, which one earlier odd
purchase does not move.
"""

from __future__ import annotations

import statistics

from vigichem.detect.context import DetectionState, product_amounts
from vigichem.detect.facts import EventFacts
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import Rule, RuleFinding

__all__ = ["QuantitySpike"]


class QuantitySpike(Rule):
    """A purchase of a regulated product above a multiple of the buyer's own (or its type's) median."""

    name = "quantity_spike"
    typology = "quantity_spike"
    scope = Scope.OPERATOR
    event_kinds = frozenset({"sale"})
    numbers = ("min_history", "own_ratio", "type_min_history", "type_ratio", "private_max_items")

    def cooldown_days(self) -> float:
        """A spike is one purchase: the same buyer may alert again after a week."""
        return 7.0

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Compare each regulated product of a sale with the buyer's own and its type's medians."""
        if facts.kind != "sale" or not facts.party_ref:
            return []
        regulated_products = {
            line.product_id or line.epc_class
            for line in facts.lines
            if any(s.regulated for s in line.substances)
        }
        items: dict[str, float] = {}
        for line in facts.lines:
            if line.uom is None:
                key = line.product_id or line.epc_class
                items[key] = items.get(key, 0.0) + line.quantity
        findings = []
        for product, amount in product_amounts(facts).items():
            if product not in regulated_products or amount <= 0:
                continue
            own = state.own_amounts(facts.party_ref, product)
            if len(own) >= self.params["min_history"]:
                median = statistics.median(own)
                if median > 0 and amount > self.params["own_ratio"] * median:
                    findings.append(self._finding(facts, product, amount, median, len(own), "own_history"))
                continue
            if facts.customer_type:
                type_median, count = state.type_median(facts.customer_type, product)
                if not type_median or count < self.params["type_min_history"]:
                    # Cold start (no history of the type yet): a number of trade items (bottles, bags) that
                    # a private household does not buy at once; the median comparison takes over later.
                    cap = self.params["private_max_items"]
                    count_items = items.get(product, 0.0)
                    if facts.customer_type == "private" and count_items > cap:
                        findings.append(self._finding(facts, product, count_items, cap, 0, "customer_type"))
                elif amount > self.params["type_ratio"] * type_median:
                    findings.append(
                        self._finding(facts, product, amount, type_median, count, "customer_type")
                    )
        return findings

    def _finding(
        self, facts: EventFacts, product: str, amount: float, median: float, count: int, basis: str
    ) -> RuleFinding:
        ratio = amount / median
        if basis == "own_history":
            against = f"the buyer's own median of {median:.3g} over {count} purchases"
        elif count:
            against = f"the median of {median:.3g} over {count} purchases by {facts.customer_type} customers"
        else:
            against = (
                f"the level of {median:g} trade items set for private buyers while their type has no history"
            )
        return RuleFinding(
            subject_type=SubjectType.PARTY,
            subject_id=str(facts.party_ref),
            event_hash_ids=(facts.hash_id,),
            first_event_time=facts.event_time,
            last_event_time=facts.event_time,
            fired_at=facts.event_time,
            explanation=f"purchase of {amount:.3g} of product {product} is {ratio:.1f} times {against}",
            evidence={
                "product": product,
                "amount": round(amount, 6),
                "median": round(median, 6),
                "ratio": round(ratio, 3),
                "history": count,
                "compared_with": basis,
            },
            detail=basis,
        )
