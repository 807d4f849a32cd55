"""The rule object: a name, a typology, a basis, a severity, parameters as data, and a pure ``check()``.

A :class:`Rule` judges one event against the state of what came before (:class:`DetectionState`) and
returns :class:`RuleFinding` objects carrying the evidence (events and figures) that fired it. It never
writes anything. A :class:`LedgerRule` judges the ledger as a whole at a moment (a stock count against the
book balance, shipments against receipts): it reads but does not change the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import Engine

from vigichem.detect.config import RuleConfig
from vigichem.detect.context import DetectionState
from vigichem.detect.facts import EventFacts
from vigichem.detect.models import Scope, Severity

__all__ = ["LedgerRule", "Rule", "RuleFinding"]


@dataclass(frozen=True, slots=True)
class RuleFinding:
    """What a rule found: the subject, the evidence events and figures, and a sentence quoting them.

    ``fired_at``: the (event) time at which the pattern became detectable, for the time-to-alert measure.
    """

    subject_type: str
    subject_id: str
    event_hash_ids: tuple[str, ...]
    first_event_time: dt.datetime
    last_event_time: dt.datetime
    fired_at: dt.datetime
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    scope: Scope | None = None  # None: the rule's own scope
    basis: str | None = None  # None: the rule's whole basis; else the part that this finding rests on


class Rule:
    """Base of the per-event rules. Subclasses set the class attributes and implement :meth:`check`."""

    name: ClassVar[str]
    typology: ClassVar[str]
    scope: ClassVar[Scope] = Scope.OPERATOR
    numbers: ClassVar[tuple[str, ...]] = ()  # numeric parameters the rule needs
    name_lists: ClassVar[tuple[str, ...]] = ()  # parameters that are lists of names
    explanation: ClassVar[str] = ""
    # The kinds of events (EventFacts.kind) that check() and on_event() can find something in; None: any.
    # The engine calls a rule only for those: most rules judge sales, and most events are not sales.
    event_kinds: ClassVar[frozenset[str] | None] = None

    def __init__(
        self, config: RuleConfig, basis: str, jurisdiction: str, bases: dict[str, str] | None = None
    ) -> None:
        self.config = config
        self.basis = basis
        self.bases = bases or {}  # the pack's basis texts by id, for findings that rest on one of them
        self.jurisdiction = jurisdiction
        self.severity = Severity(config.severity)
        self.params = {name: config.number(name) for name in self.numbers}
        self._names: dict[str, frozenset[str]] = {}

    def names(self, name: str) -> frozenset[str]:
        """A list-of-names parameter (``RuleConfig.names``), read once: rules ask for it at every sale."""
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = self.config.names(name)
        return found

    @classmethod
    def check_params(cls, config: RuleConfig) -> tuple[str, str] | None:
        """The first problem with a configuration as (parameter, message), or ``None`` when it is valid."""
        for name in cls.numbers:
            value = config.params.get(name)
            if value is None:
                return name, "missing"
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                return name, f"must be a number >= 0, got {value!r}"
        for name in cls.name_lists:
            value = config.params.get(name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return name, f"must be a list of names, got {value!r}"
        unknown = set(config.params) - set(cls.numbers) - set(cls.name_lists)
        if unknown:
            return sorted(unknown)[0], "unknown parameter"
        return None

    def check(self, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Findings for one event given the state before it (pure: reads, never writes)."""
        return []

    def cooldown_days(self) -> float:
        """How long the same subject does not alert again for this rule (default: the rule's window)."""
        return self.params.get("window_days", 0.0)


class LedgerRule(Rule):
    """A rule over the ledger as a whole: a stock count, or shipments against receipts, as of a moment."""

    def on_event(self, engine: Engine, facts: EventFacts, state: DetectionState) -> list[RuleFinding]:
        """Findings triggered by a stored event (e.g. a stock count); default none."""
        return []

    def scan(
        self, engine: Engine, as_of: dt.datetime, since: dt.datetime | None, shared: dict[str, Any]
    ) -> list[RuleFinding]:
        """Findings over the ledger as of ``as_of`` for events from ``since``; default none.

        ``shared``: a dict that lives for one scan of all rules, so that rules reading the same ledger
        figures (shipments against receipts) compute them once; the engine puts its
        :class:`~vigichem.detect.transit.TransitTracker` there under ``"transit_tracker"``.
        """
        return []
