"""The engine: streaming and history give the same alerts, re-runs never duplicate, bad events are skipped."""

from __future__ import annotations

from typing import Any

from tests.detect.factories import DEPOT, SHOP_A, SHOP_B, at, document, movement, sale
from vigichem.detect.engine import DetectionEngine, detect_history
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore


def scenario() -> list[dict[str, Any]]:
    """An invented mix: ordinary sales, a split purchase, a combination, an indicator and a theft."""
    events = [sale(at(day), f"pty-ordinary{day}", 2.0) for day in range(6)]
    events += [sale(at(day + 0.5), "pty-split", 6.0) for day in range(4)]
    events += [sale(at(1), "pty-combo", 1.0), sale(at(3), "pty-combo", 1.0, product="h2so4-35")]
    events += [sale(at(2), "pty-noid", 1.0, id_verified=False, site=SHOP_B)]
    events += [movement(at(0), "commissioning", DEPOT, 100.0), movement(at(4), "cycle_counting", DEPOT, 90.0)]
    return sorted(events, key=lambda event: event["eventTime"])


def test_history_run_equals_streaming_and_reruns_do_not_duplicate(loaded: LedgerStore) -> None:
    streaming = DetectionEngine(loaded.engine, "EU")
    for event in scenario():
        streaming.capture(loaded, document(event))
    streamed = {a.fingerprint for a in streaming.report.alerts}
    assert {a.typology for a in streaming.report.alerts} == {
        "split_purchase",
        "unusual_combination",
        "sale_indicator",
        "theft_loss",
    }
    first = detect_history(loaded.engine, at(-1), jurisdiction="EU")
    second = detect_history(loaded.engine, at(-1), jurisdiction="EU")
    assert {a.fingerprint for a in first.alerts} == streamed
    assert [a.fingerprint for a in second.alerts] == [a.fingerprint for a in first.alerts]
    assert len({a.fingerprint for a in first.alerts}) == len(first.alerts)
    assert first.events_seen == len(scenario()) and first.skipped == []


def test_history_since_a_date_uses_earlier_events_as_context_only(loaded: LedgerStore) -> None:
    for event in scenario():
        capture(loaded, document(event))
    # From day 3.2 on, the fourth small purchase still completes the split (the first three are context),
    # while the indicator and the count before that date are not reported again.
    late = detect_history(loaded.engine, at(3.2), jurisdiction="EU")
    assert sorted(a.typology for a in late.alerts) == ["split_purchase", "theft_loss"]


def test_a_bad_event_is_reported_and_skipped(loaded: LedgerStore) -> None:
    detector = DetectionEngine(loaded.engine, "EU")
    broken = sale(at(0), "pty-x", 1.0)
    broken["quantityList"] = [{"epcClass": "urn:vigichem:class:h2o2-30:L1", "quantity": "lots"}]
    assert detector.process("hash-broken", broken) == []
    assert detector.process("hash-no-time", {**sale(at(0), "pty-y", 1.0), "eventTime": 5}) == []
    assert detector.process("hash-not-object", ["not", "an", "event"]) == []
    good = detector.process("hash-good", sale(at(1), "pty-z", 1.0, id_verified=False))
    assert [a.detail for a in good] == ["no_id"]
    assert [s.hash_id for s in detector.report.skipped] == ["hash-broken", "hash-no-time", "hash-not-object"]
    assert "quantity is not a number" in detector.report.skipped[0].reason
    assert detector.report.events_seen == 4
    assert detector.report.to_dict()["skipped"][1]["hashId"] == "hash-no-time"


def test_only_selected_rules_run(loaded: LedgerStore) -> None:
    detector = DetectionEngine(loaded.engine, "EU", only=["quantity_spike"])
    assert [rule.name for rule in detector.rules] == ["quantity_spike"]
    assert detector.process("h1", sale(at(0), "pty-q", 1.0, id_verified=False)) == []


def test_alert_json_round_trip_keeps_the_fingerprint(loaded: LedgerStore) -> None:
    from vigichem.detect.models import Alert

    detector = DetectionEngine(loaded.engine, "EU")
    alerts = detector.capture(loaded, document(sale(at(0), "pty-r", 1.0, site=SHOP_A, end_use=None)))[1]
    assert len(alerts) == 1
    again = Alert.from_dict(alerts[0].to_dict())
    assert again.fingerprint == alerts[0].fingerprint and again == alerts[0]


def test_repeated_and_recaptured_events_are_judged_once(loaded: LedgerStore) -> None:
    detector = DetectionEngine(loaded.engine, "EU")
    event = sale(at(0), "pty-twice", 1.0, id_verified=False)
    result, alerts = detector.capture(loaded, document(event, event))
    assert len(result.new) == 1 and len(result.duplicates) == 1
    assert [a.detail for a in alerts] == ["no_id"] and detector.report.events_seen == 1
    _, again = detector.capture(loaded, document(event))
    assert again == [] and detector.report.events_seen == 1


def test_an_error_declaration_beside_a_duplicate_is_judged(loaded: LedgerStore) -> None:
    # A declaration's ledger identity is not its CBV hash ID (that is the declared event's): the engine
    # must pair a document's events with the identities the ledger reports, duplicates or not.
    detector = DetectionEngine(loaded.engine, "EU")
    first = sale(at(0), "pty-declared", 1.0)
    detector.capture(loaded, document(first))
    declaration = {
        **first,
        "errorDeclaration": {"declarationTime": first["eventTime"], "reason": "incorrect_data"},
    }
    result, _ = detector.capture(loaded, document(first, declaration))
    assert len(result.new) == 1 and len(result.duplicates) == 1
    assert detector.report.events_seen == 2


def test_streaming_with_record_opens_cases_as_alerts_are_found(loaded: LedgerStore) -> None:
    from vigichem.cases import list_cases

    detector = DetectionEngine(loaded.engine, "EU", record=True)
    for day in range(4):
        detector.capture(loaded, document(sale(at(day), "pty-case", 6.0, id_verified=day != 0)))
    cases = list_cases(loaded.engine)
    assert [(c.subject_type, c.subject_id) for c in cases] == [("party", "pty-case")]
    assert len(detector.report.alerts) == 2  # the refused ID at the first sale, the split at the fourth
