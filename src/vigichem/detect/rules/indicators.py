"""Indicators at the sale (EU 2019/1148 Art. 9(1)(a)-(e); Commission Guidelines 2020/C 210/01, Section V).

Each finding names its indicator in ``detail``: ``cash`` (cash payment above a level), ``no_id`` (the buyer
did not show an identity document), ``no_end_use`` (no end use stated), ``private_address_company_order`` (a
private address or PO box for a company's order), ``many_buyers_one_address`` (many unrelated buyers
delivering to one address, linked by the keyed delivery reference; authority scope, subject the address).
"""

from __future__ import annotations

import datetime as dt

from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import Rule, RuleFinding

__all__ = ["DETAIL_BASES", "SaleIndicator"]


DETAIL_BASES = {
    "cash": "eu-art9-1e",
    "no_id": "eu-art9-1d",
    "no_end_use": "eu-art9-1a",
    "private_address_company_order": "eu-guidelines-v",
    "many_buyers_one_address": "eu-guidelines-v",
}
"""The basis (id in ``rules.yaml``) that each indicator rests on, when the configuration names it."""


class SaleIndicator(Rule):
    """One finding per indicator observed at a sale of a regulated product."""

    name = "sale_indicator"
    typology = "sale_indicator"
    scope = Scope.OPERATOR
    event_kinds = frozenset({"sale"})
    numbers = ("cash_level_kg", "delivery_window_days", "delivery_min_parties")
    name_lists = ("company_types",)

    def basis_of(self, detail: str) -> str | None:
        """The text of the one basis an indicator rests on (None: the rule's whole basis)."""
        basis_id = DETAIL_BASES.get(detail)
        if basis_id is None or basis_id not in self.config.basis or basis_id not in self.bases:
            return None
        return " ".join(self.bases[basis_id].split())

    def cooldown_days(self) -> float:
        """The same indicator on the same subject alerts again only after the delivery window."""
        return self.params["delivery_window_days"]

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Look for each indicator on a sale that contains a regulated substance."""
        regulated = facts.regulated_kg()
        if facts.kind != "sale" or not regulated:
            return []
        total = sum(regulated.values())
        buyer = facts.party_ref or f"sale:{facts.hash_id}"
        found: list[tuple[str, str, dict[str, object]]] = []
        if facts.payment == "cash" and total > self.params["cash_level_kg"]:
            found.append(
                (
                    "cash",
                    f"paid in cash for {total:.3g} kg of regulated substances (level "
                    f"{self.params['cash_level_kg']:g} kg)",
                    {"regulated_kg": round(total, 6), "level_kg": self.params["cash_level_kg"]},
                )
            )
        if facts.id_verified is False:
            found.append(("no_id", "the buyer did not show an identity document", {}))
        if facts.stated_end_use is None or not facts.stated_end_use.strip():
            found.append(("no_end_use", "the buyer stated no end use for a regulated substance", {}))
        company = facts.customer_type in self.names("company_types")
        if company and facts.delivery_type in ("private_address", "po_box"):
            where = "a PO box" if facts.delivery_type == "po_box" else "a private address"
            found.append(
                (
                    "private_address_company_order",
                    f"a {facts.customer_type} order delivered to {where}",
                    {"customer_type": facts.customer_type, "delivery_type": facts.delivery_type},
                )
            )
        findings = [
            RuleFinding(
                subject_type=SubjectType.PARTY,
                subject_id=buyer,
                event_hash_ids=(facts.hash_id,),
                first_event_time=facts.event_time,
                last_event_time=facts.event_time,
                fired_at=facts.event_time,
                explanation=text,
                evidence=evidence,
                detail=detail,
                basis=self.basis_of(detail),
            )
            for detail, text, evidence in found
        ]
        shared = self._shared_delivery(facts, state)
        return findings + ([shared] if shared else [])

    def _shared_delivery(self, facts: EventFacts, state: DetectionState) -> RuleFinding | None:
        if not facts.delivery_ref or not facts.party_ref:
            return None
        window = self.params["delivery_window_days"]
        parties = state.delivery_parties(facts.delivery_ref, facts.event_time - dt.timedelta(days=window))
        parties[facts.party_ref] = (facts.event_time, facts.hash_id)
        if len(parties) < self.params["delivery_min_parties"]:
            return None
        times = sorted(parties.values())
        return RuleFinding(
            subject_type=SubjectType.ADDRESS,
            subject_id=facts.delivery_ref,
            event_hash_ids=tuple(h for _, h in times),
            first_event_time=times[0][0],
            last_event_time=times[-1][0],
            fired_at=facts.event_time,
            explanation=f"{len(parties)} different buyers had regulated goods delivered to one address "
            f"within {window:g} days",
            evidence={"buyers": len(parties), "window_days": window},
            detail="many_buyers_one_address",
            scope=Scope.AUTHORITY,
            basis=self.basis_of("many_buyers_one_address"),
        )
