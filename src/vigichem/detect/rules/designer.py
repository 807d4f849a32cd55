"""Designer precursor: a substance screening reports as ``watch`` on the date of the event.

``watch`` is what :func:`vigichem.chem.screen` answers, ``as_of`` the event date, for a chemical whose listing
comes later (a backtest: "would it have been flagged before it was controlled?") or that is structurally
similar to a listed one. It is never a legal finding: the alert asks a human to look.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import Rule, RuleFinding

__all__ = ["DesignerPrecursor", "watch_reasons"]


@lru_cache(maxsize=4096)
def watch_reasons(substance: str, jurisdiction: str, on: dt.date) -> tuple[str, ...]:
    """The watch reasons screening gives a substance on a date; empty when it is legally listed or unknown."""
    from vigichem.chem import screen
    from vigichem.errors import InvalidInput

    try:
        result = screen(substance, jurisdiction=jurisdiction, as_of=on)
    except InvalidInput:
        return ()
    if result.controlled:
        return ()
    return tuple(f.reason for f in result.findings if f.status == "watch")


class DesignerPrecursor(Rule):
    """A sale of a product whose substance screening watches on that date."""

    name = "designer_precursor"
    typology = "designer_precursor"
    scope = Scope.AUTHORITY
    event_kinds = frozenset({"sale"})

    def cooldown_days(self) -> float:
        """One alert per subject and substance a year: the later sales are the same pattern."""
        return 365.0

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Screen the flagged substances of the event's products as of the event date."""
        # Sales only: the buyer is the subject to look at; the same product's imports and transfers between
        # operators would repeat the pattern at every hop.
        if facts.kind != "sale":
            return []
        findings = []
        seen: set[str] = set()
        for line in facts.lines:
            for substance in line.substances:
                if not substance.flagged or substance.key in seen:
                    continue
                seen.add(substance.key)
                reasons = watch_reasons(substance.key, self.jurisdiction, facts.event_time.date())
                if not reasons:
                    continue
                subject = (
                    (SubjectType.PARTY, facts.party_ref)
                    if facts.party_ref
                    else (SubjectType.SITE, facts.site or "unknown")
                )
                findings.append(
                    RuleFinding(
                        subject_type=subject[0],
                        subject_id=str(subject[1]),
                        event_hash_ids=(facts.hash_id,),
                        first_event_time=facts.event_time,
                        last_event_time=facts.event_time,
                        fired_at=facts.event_time,
                        explanation=f"{substance.name or substance.key} is not controlled on "
                        f"{facts.event_time.date().isoformat()} but is watched: {reasons[0]}",
                        evidence={"substance": substance.key, "reasons": list(reasons)},
                        detail=substance.key,
                    )
                )
        return findings
