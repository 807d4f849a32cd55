"""Purchase-pattern rules: split purchases (one seller, several sellers) and unusual combinations.

EU 2019/1148 Art. 9(1)(c) names "quantities, combinations or concentrations ... unusual for legitimate use";
a purchase split into several small ones below a level is the classic way to stay under a seller's
attention, and only the authority, which sees every seller, can link purchases at several sellers (through
the pseudonymous party reference, the same buyer at every counter of the node).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from vigichem.detect.context import DetectionState, Purchase
from vigichem.detect.facts import EventFacts
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import Rule, RuleFinding

__all__ = ["SplitPurchase", "SplitPurchaseMultiSeller", "UnusualCombination"]


def _finding(
    subject: str, purchases: list[Purchase], now: EventFacts, explanation: str, evidence: dict[str, object]
) -> RuleFinding:
    return RuleFinding(
        subject_type=SubjectType.PARTY,
        subject_id=subject,
        event_hash_ids=tuple(p.hash_id for p in purchases),
        first_event_time=purchases[0].time,
        last_event_time=purchases[-1].time,
        fired_at=now.event_time,
        explanation=explanation,
        evidence=evidence,
    )


def _name(facts: EventFacts, substance: str) -> str:
    """A substance's display name, looked up only when a finding quotes it."""
    return facts.substance_names().get(substance, substance)


def _current(facts: EventFacts) -> Purchase:
    return Purchase(facts.hash_id, facts.event_time, facts.site, facts.customer_type, facts.regulated_kg())


class SplitPurchase(Rule):
    """Frequent small purchases of one regulated substance at one seller, adding up within a window."""

    name = "split_purchase"
    typology = "split_purchase"
    scope = Scope.OPERATOR
    event_kinds = frozenset({"sale"})
    numbers: ClassVar[tuple[str, ...]] = ("window_days", "min_purchases", "max_single_kg", "min_total_kg")
    multi_seller = False

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Fire when the buyer's small purchases of a substance within the window are many and add up."""
        if facts.kind != "sale" or not facts.party_ref:
            return []
        level = self.params["max_single_kg"]
        regulated = facts.regulated_kg()
        # Shortcuts that change nothing: no substance of this sale is below the level (each is skipped
        # below), or the buyer has too few purchases kept to reach the minimum with this one (the window's
        # purchases are among the kept ones).
        if not any(amount < level for amount in regulated.values()):
            return []
        if state.purchase_count(facts.party_ref) + 1 < self.params["min_purchases"]:
            return []
        since = facts.event_time - dt.timedelta(days=self.params["window_days"])
        history = [*state.purchases(facts.party_ref, since), _current(facts)]
        findings = []
        for substance, amount in regulated.items():
            if amount >= level:
                continue
            small = [p for p in history if 0 < p.regulated_kg.get(substance, 0.0) < level]
            if not self.multi_seller:
                small = [p for p in small if p.site == facts.site]
            sellers = {p.site for p in small}
            total = sum(p.regulated_kg[substance] for p in small)
            if len(small) < self.params["min_purchases"] or total < self.params["min_total_kg"]:
                continue
            if self.multi_seller and len(sellers) < self.params["min_sellers"]:
                continue
            where = f"at {len(sellers)} sellers" if self.multi_seller else "at one seller"
            findings.append(
                _finding(
                    facts.party_ref,
                    small,
                    facts,
                    f"{len(small)} purchases of {_name(facts, substance)} {where} within "
                    f"{self.params['window_days']:g} days, each below {level:g} kg, total {total:.3g} kg",
                    {
                        "substance": substance,
                        "purchases": len(small),
                        "sellers": len(sellers),
                        "total_kg": round(total, 6),
                        "max_single_kg": level,
                        "window_days": self.params["window_days"],
                    },
                )
            )
        return findings


class SplitPurchaseMultiSeller(SplitPurchase):
    """The same split across several sellers: visible only at authority scope, linked by the party key."""

    name = "split_purchase_multi_seller"
    typology = "split_purchase_multi_seller"
    scope = Scope.AUTHORITY
    numbers = (
        "window_days",
        "min_purchases",
        "min_sellers",
        "max_single_kg",
        "min_total_kg",
    )
    multi_seller = True


class UnusualCombination(Rule):
    """Several different regulated substances bought by one private buyer within a window."""

    name = "unusual_combination"
    typology = "unusual_combination"
    scope = Scope.AUTHORITY
    event_kinds = frozenset({"sale"})
    numbers = ("window_days", "min_substances")
    name_lists = ("customer_types",)

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Fire when this purchase brings the buyer's distinct regulated substances to the minimum."""
        if facts.kind != "sale" or not facts.party_ref:
            return []
        if facts.customer_type not in self.names("customer_types"):
            return []
        current = set(facts.regulated_kg())
        if not current:
            return []  # nothing new can be added: no finding (as below)
        if len(current) < self.params["min_substances"] and not state.purchase_count(facts.party_ref):
            return []  # no earlier purchase kept: the combination is this sale's alone, and too small
        since = facts.event_time - dt.timedelta(days=self.params["window_days"])
        history = [*state.purchases(facts.party_ref, since), _current(facts)]
        before = {s for p in history[:-1] for s in p.regulated_kg}
        combined = before | current
        if not (current - before) or len(combined) < self.params["min_substances"]:
            return []
        relevant = [p for p in history if p.regulated_kg]
        names = facts.substance_names()
        listed = ", ".join(sorted(names.get(s, s) for s in combined))
        return [
            _finding(
                facts.party_ref,
                relevant,
                facts,
                f"a private buyer bought {len(combined)} different regulated substances ({listed}) "
                f"within {self.params['window_days']:g} days",
                {"substances": sorted(combined), "window_days": self.params["window_days"]},
            )
        ]
