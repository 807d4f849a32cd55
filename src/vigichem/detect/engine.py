"""Running the rules: streaming (on each captured event) and over history (``vigichem detect --since``).

Both ways feed events, in order, through the same :meth:`DetectionEngine.process`: facts are extracted, each
rule checks the event against the state of what came before, then the state observes the event. A history run
replays the ledger in event-time order from ``since`` minus the longest rule window (to rebuild the state;
findings that fired before ``since`` are not reported). A bad event is reported in the run's ``skipped`` list
and detection goes on. Alerts are de-duplicated by fingerprint, and a rule does not alert again on the same
subject within its cooldown (its window), so a re-run never duplicates an alert.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from vigichem.detect.config import RulePack, load_rule_pack
from vigichem.detect.context import DetectionState
from vigichem.detect.facts import Catalogue, EventFacts, event_facts, facts_or_reason
from vigichem.detect.models import Alert
from vigichem.detect.rule import LedgerRule, Rule, RuleFinding
from vigichem.detect.rules import RULE_CLASSES
from vigichem.detect.transit import TransitTracker
from vigichem.errors import InvalidInput, VigichemError
from vigichem.ledger.db import documents, events
from vigichem.ledger.hashid import document_events
from vigichem.ledger.models import CaptureResult
from vigichem.ledger.service import capture, ledger_hash_ids
from vigichem.ledger.store import LedgerStore

__all__ = ["DetectionEngine", "RunReport", "SkippedEvent", "detect_history"]

ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An event detection could not judge, and why (it was skipped; the run went on)."""

    hash_id: str
    reason: str
    rule: str | None = None


@dataclass(slots=True)
class RunReport:
    """What a detection run did: alerts, events judged, events skipped."""

    jurisdiction: str
    rules: list[str]
    alerts: list[Alert] = field(default_factory=list)
    events_seen: int = 0
    skipped: list[SkippedEvent] = field(default_factory=list)
    since: dt.datetime | None = None
    as_of: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the CLI's ``--json``)."""
        return {
            "jurisdiction": self.jurisdiction,
            "rules": self.rules,
            "since": self.since.isoformat() if self.since else None,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "eventsSeen": self.events_seen,
            "skipped": [{"hashId": s.hash_id, "reason": s.reason, "rule": s.rule} for s in self.skipped],
            "alerts": [a.to_dict() for a in self.alerts],
        }


class DetectionEngine:
    """The rule pack of one jurisdiction, with its state, ready to judge events in order."""

    def __init__(
        self,
        engine: Engine | None,
        jurisdiction: str = "EU",
        *,
        pack: RulePack | None = None,
        only: list[str] | None = None,
        catalogue: Catalogue | None = None,
        clock: Any = None,
        record: bool = False,
    ) -> None:
        self.engine = engine
        # record: streaming alerts become cases at once (vigichem.cases.record_alerts), as they are found.
        self.record = record and engine is not None
        self.jurisdiction = jurisdiction
        pack = pack or load_rule_pack()
        _, configs = pack.for_jurisdiction(jurisdiction)
        if only:
            unknown = sorted(set(only) - set(RULE_CLASSES))
            if unknown:
                raise InvalidInput(
                    f"unknown rule {unknown[0]!r}; known: {', '.join(sorted(RULE_CLASSES))}",
                    details={"rule": unknown[0]},
                )
        self.rules: list[Rule] = [
            RULE_CLASSES[name](config, pack.basis_text(config), jurisdiction, pack.bases)
            for name, config in configs.items()
            if config.enabled and (not only or name in only)
        ]
        horizon = max([r.params.get("window_days", 0.0) for r in self.rules] + [30.0])
        self.horizon_days = horizon
        self.state = DetectionState(horizon_days=horizon + 1)
        self.catalogue = catalogue or Catalogue(engine)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._fingerprints: set[str] = set()
        self.report = RunReport(jurisdiction=jurisdiction, rules=[r.name for r in self.rules])
        self.report_from: dt.datetime | None = None  # findings that fired earlier only warm the state up
        # The transit rows of the ledger, kept between scans: each scan reads only the rows stored since.
        self._transit = TransitTracker(engine) if engine is not None else None
        # The rules that can find something in each kind of event (Rule.event_kinds), in pack order.
        # With each rule: whether it also reads the ledger (a LedgerRule, with a database).
        self._rules_by_kind: dict[str, list[tuple[Rule, bool]]] = {}

    # ---- one event ------------------------------------------------------------------------------------
    def process(self, hash_id: str, event: Any, context: Any = None) -> list[Alert]:
        """Judge one event (already stored, for the ledger rules); return the new alerts."""
        self.report.events_seen += 1
        return self._judge(hash_id, facts_or_reason(hash_id, event, self.catalogue, context))

    def judge_facts(self, hash_id: str, facts: EventFacts | str) -> list[Alert]:
        """Judge one event from its facts already read (:func:`~vigichem.detect.facts.facts_or_reason`:
        the facts, or why the event cannot be judged), as :meth:`process` judges the event itself."""
        self.report.events_seen += 1
        return self._judge(hash_id, facts)

    def _judge(self, hash_id: str, facts: EventFacts | str) -> list[Alert]:
        if isinstance(facts, str):  # an event whose facts cannot be read: reported and skipped
            self.report.skipped.append(SkippedEvent(hash_id, facts))
            return []
        new: list[Alert] = []
        rules = self._rules_by_kind.get(facts.kind)
        if rules is None:
            rules = self._rules_by_kind[facts.kind] = [
                (r, isinstance(r, LedgerRule) and self.engine is not None)
                for r in self.rules
                if r.event_kinds is None or facts.kind in r.event_kinds
            ]
        for rule, on_ledger in rules:
            try:
                findings = rule.check(facts, self.state)
                if on_ledger:
                    assert isinstance(rule, LedgerRule) and self.engine is not None
                    findings = findings + rule.on_event(self.engine, facts, self.state)
            except (VigichemError, ValueError, KeyError, TypeError, ArithmeticError) as error:
                # A rule that cannot judge one event must not stop detection: the skip is reported.
                message = (
                    error.message if isinstance(error, VigichemError) else f"{type(error).__name__}: {error}"
                )
                self.report.skipped.append(SkippedEvent(hash_id, message, rule.name))
                continue
            if findings:
                new.extend(self._accept(rule, findings))
        self.state.observe(facts)
        return new

    def _accept(self, rule: Rule, findings: list[RuleFinding]) -> list[Alert]:
        accepted = []
        for finding in findings:
            if self.report_from is not None and finding.fired_at < self.report_from:
                continue
            subject = (finding.subject_type, finding.subject_id)
            cooldown = rule.cooldown_days()
            if cooldown and self.state.recently_alerted(
                rule.name, subject, finding.detail, finding.fired_at, cooldown
            ):
                continue
            alert = self._alert(rule, finding)
            if alert.fingerprint in self._fingerprints:
                continue
            self._fingerprints.add(alert.fingerprint)
            self.state.mark_alerted(rule.name, subject, finding.detail, finding.fired_at)
            self.report.alerts.append(alert)
            accepted.append(alert)
        return accepted

    def _alert(self, rule: Rule, finding: RuleFinding) -> Alert:
        evidence = dict(finding.evidence)
        evidence["fired_at"] = finding.fired_at.isoformat()
        return Alert(
            rule=rule.name,
            typology=rule.typology,
            detail=finding.detail,
            basis=finding.basis or rule.basis,
            severity=rule.severity,
            scope=finding.scope or rule.scope,
            subject_type=str(finding.subject_type),
            subject_id=finding.subject_id,
            jurisdiction=self.jurisdiction,
            event_hash_ids=finding.event_hash_ids,
            first_event_time=finding.first_event_time,
            last_event_time=finding.last_event_time,
            detected_at=self._clock(),
            explanation=finding.explanation,
            evidence=evidence,
        )

    # ---- streaming ------------------------------------------------------------------------------------
    def capture(self, store: LedgerStore, document: dict[str, Any]) -> tuple[CaptureResult, list[Alert]]:
        """Capture a document into the ledger, then judge its new events (duplicates are not judged twice)."""
        result = capture(store, document)
        return result, self.judge_captured(result, document)

    def capture_many(
        self, store: LedgerStore, documents: Iterable[dict[str, Any]], *, workers: int
    ) -> Iterator[tuple[CaptureResult | VigichemError, list[Alert]]]:
        """:meth:`capture` of each document in order, with the capture's preparation (validation, hashing,
        indexing) and the facts of the events of the next documents read in ``workers`` other processes
        (:mod:`vigichem.detect.pipeline`): the second CPU prepares while this process appends and judges.
        Document *n* is judged after it is appended and before document *n + 1* is, so the ledger that the
        rules read, and the alerts, are those of :meth:`capture` document by document.
        Yields each document's capture result (or the error that rejected it) and its alerts.
        """
        from vigichem.detect.pipeline import capture_sources

        for captured in capture_sources(self, store, documents, workers=workers):
            assert captured.result is not None  # parsed documents are never unreadable
            yield captured.result, captured.alerts

    def judge_captured(self, result: CaptureResult, document: dict[str, Any]) -> list[Alert]:
        """Judge the new events of a document just captured (``result``: its capture result)."""
        context = document.get("@context")
        pairs = _new_events(result, document_events(document), lambda: ledger_hash_ids(document))
        alerts: list[Alert] = []
        for hash_id, event in pairs:
            alerts.extend(self.process(hash_id, event, context))
        self._record(alerts)
        return alerts

    def judge_prepared(
        self, result: CaptureResult, hash_ids: Sequence[str], facts: Sequence[EventFacts | str]
    ) -> list[Alert]:
        """Judge the new events of a document just captured, from facts read before its append.

        ``hash_ids``: the ledger identities of the document's events in document order (those its
        preparation computed); ``facts``: each event's :func:`~vigichem.detect.facts.facts_or_reason`, in
        the same order. The events judged, and their order, are those of :meth:`judge_captured`.
        """
        alerts: list[Alert] = []
        for hash_id, read in _new_events(result, facts, lambda: hash_ids):
            alerts.extend(self.judge_facts(hash_id, read))
        self._record(alerts)
        return alerts

    def _record(self, alerts: list[Alert]) -> None:
        if self.record and alerts and self.engine is not None:
            from vigichem.cases import record_alerts

            record_alerts(self.engine, alerts)

    def scan(self, as_of: dt.datetime, since: dt.datetime | None = None) -> list[Alert]:
        """Run the ledger-wide rules (shipments against receipts) as of a moment."""
        if self.engine is None:
            return []
        alerts: list[Alert] = []
        shared: dict[str, Any] = {"transit_tracker": self._transit}
        for rule in self.rules:
            if isinstance(rule, LedgerRule):
                alerts.extend(self._accept(rule, rule.scan(self.engine, as_of, since, shared)))
        self.report.as_of = as_of
        self._record(alerts)
        return alerts


def _stored_events(engine: Engine, start: dt.datetime) -> Iterator[tuple[str, Any, Any, dt.datetime]]:
    """(hash ID, event, context, event time) of the stored events from ``start``, in event-time order."""
    contexts: dict[int, Any] = {}
    with engine.connect() as connection:
        for doc in connection.execute(select(documents.c.id, documents.c.context_json)):
            contexts[int(doc.id)] = json.loads(doc.context_json) if doc.context_json else None
        rows = connection.execution_options(stream_results=True, yield_per=5000).execute(
            select(events.c.hash_id, events.c.event_json, events.c.document_id, events.c.event_time)
            .where(events.c.event_time >= start.astimezone(dt.UTC).replace(tzinfo=None))
            .where(events.c.error_declaration.is_(False))
            .order_by(events.c.event_time, events.c.seq)
        )
        for row in rows:
            try:
                event = json.loads(row.event_json)
            except ValueError:
                event = None  # reported as a skip by process()
            yield row.hash_id, event, contexts.get(int(row.document_id)), row.event_time


def _new_events(
    result: CaptureResult, items: Sequence[ItemT], hash_ids: Callable[[], Sequence[str]]
) -> list[tuple[str, ItemT]]:
    """``(hash ID, item)`` of a document's new events, in document order (``items``: one per event).

    When every event was new the ledger reports their hash IDs in document order and ``hash_ids`` (the
    ledger identities of all the document's events) is not needed; otherwise an event repeated inside the
    document, or already stored, is left out (judged once).
    """
    if not result.duplicates:
        return list(zip(result.new, items, strict=True))
    new = set(result.new)
    pairs = []
    for hash_id, item in zip(hash_ids(), items, strict=True):
        if hash_id in new:
            new.discard(hash_id)
            pairs.append((hash_id, item))
    return pairs


def detect_history(
    engine: Engine,
    since: dt.datetime,
    *,
    jurisdiction: str = "EU",
    until: dt.datetime | None = None,
    only: list[str] | None = None,
    pack: RulePack | None = None,
) -> RunReport:
    """Run every rule over the ledger's events from ``since`` (backtest, rescan): the streaming code."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    detector = DetectionEngine(engine, jurisdiction, pack=pack, only=only)
    detector.report_from = since
    detector.report.since = since
    last: dt.datetime | None = None
    warmup_start = since - dt.timedelta(days=detector.horizon_days)
    for hash_id, event, context, event_time in _stored_events(engine, warmup_start):
        moment = event_time.replace(tzinfo=dt.UTC)
        if until is not None and moment > until:
            break
        if moment < since:
            # Warm-up: rebuild the state without judging (judging needs only the state).
            with contextlib.suppress(VigichemError):
                detector.state.observe(event_facts(hash_id, event, detector.catalogue, context))
            continue
        detector.process(hash_id, event, context)
        last = moment
    detector.scan(until or last or since, since)
    return detector.report
