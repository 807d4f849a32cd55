"""Designer precursor: a substance screening reports as ``watch`` on the date of the event.

``watch`` is what :func:`vigichem.chem.screen` answers, ``as_of`` the event date, for a chemical whose listing
comes later (a backtest: "would it have been flagged before it was controlled?") or that is structurally
similar to a listed one. It is never a legal finding: the alert asks a human to look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts, SubstanceAmount
from vigichem.detect.models import Scope, SubjectType
from vigichem.detect.rule import Rule, RuleFinding

__all__ = ["DesignerPrecursor", "remember_watch_reasons", "watch_reasons", "watched_substances"]


WatchKey = tuple[str, str, dt.date]
"""(substance, jurisdiction, date): the arguments of :func:`watch_reasons`."""

# watch_reasons() answers, kept: screening is a pure function of its arguments (the knowledge base is the
# installed data), asked once per substance and day. Bounded: cleared when full (a cache, not a record).
_WATCHED: dict[WatchKey, tuple[str, ...]] = {}
_WATCHED_KEPT = 65_536


def watch_reasons(substance: str, jurisdiction: str, on: dt.date) -> tuple[str, ...]:
    """The watch reasons screening gives a substance on a date; empty when it is legally listed or unknown."""
    key = (substance, jurisdiction, on)
    found = _WATCHED.get(key)
    if found is None:
        found = _screen_watch(substance, jurisdiction, on)
        remember_watch_reasons({key: found})
    return found


def remember_watch_reasons(answers: dict[WatchKey, tuple[str, ...]]) -> None:
    """Keep answers of :func:`watch_reasons` computed elsewhere (the pipeline's worker processes screen
    the substances of the documents they prepare, so that this process does not)."""
    if len(_WATCHED) + len(answers) > _WATCHED_KEPT:
        _WATCHED.clear()
    _WATCHED.update(answers)


def _screen_watch(substance: str, jurisdiction: str, on: dt.date) -> tuple[str, ...]:
    from vigichem.chem import screen
    from vigichem.errors import InvalidInput

    try:
        result = screen(substance, jurisdiction=jurisdiction, as_of=on)
    except InvalidInput:
        return ()
    if result.controlled:
        return ()
    return tuple(f.reason for f in result.findings if f.status == "watch")


def watched_substances(facts: EventFacts) -> Iterator[SubstanceAmount]:
    """The substances of an event that :class:`DesignerPrecursor` screens: the flagged ones of a sale, the
    first of each key, in the order of its lines."""
    # Sales only: the buyer is the subject to look at; the same product's imports and transfers between
    # operators would repeat the pattern at every hop.
    if facts.kind != "sale":
        return
    seen: set[str] = set()
    for line in facts.lines:
        for substance in line.substances:
            if substance.flagged and substance.key not in seen:
                seen.add(substance.key)
                yield substance


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
        findings = []
        for substance in watched_substances(facts):
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
