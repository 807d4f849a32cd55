"""Real detection output into cases: a history run recorded twice gives the same cases, one per subject.

Uses the detection tests' invented scenario data (:mod:`tests.detect.factories`: invented shops, parties and
quantities; real listed chemicals by their CAS numbers).
"""

from __future__ import annotations

from tests.detect.factories import DEPOT, SHOP_B, at, document, masterdata, movement, sale
from vigichem.cases import build_report, list_cases, record_alerts
from vigichem.detect.engine import detect_history
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.service import capture
from vigichem.ledger.store import LedgerStore


def test_detection_runs_become_cases_without_duplicates(store: LedgerStore) -> None:
    MasterData(store.engine).load(masterdata())
    events = [sale(at(day), f"pty-ordinary{day}", 2.0) for day in range(4)]
    events += [sale(at(day + 0.5), "pty-split", 6.0) for day in range(4)]
    events += [sale(at(2), "pty-noid", 1.0, id_verified=False, site=SHOP_B)]
    events += [movement(at(0), "commissioning", DEPOT, 100.0), movement(at(3), "cycle_counting", DEPOT, 90.0)]
    for event in sorted(events, key=lambda item: item["eventTime"]):
        capture(store, document(event))

    alerts = detect_history(store.engine, at(-1), jurisdiction="EU").alerts
    assert alerts
    first = record_alerts(store.engine, alerts)
    assert first.new_alerts == len(alerts) and first.duplicate_alerts == 0
    subjects = {(a.subject_type, a.subject_id) for a in alerts}
    cases = list_cases(store.engine)
    assert {(c.subject_type, c.subject_id) for c in cases} == subjects
    assert len(cases) == len(subjects)

    rerun = record_alerts(store.engine, detect_history(store.engine, at(-1), jurisdiction="EU").alerts)
    assert (rerun.new_alerts, rerun.cases_opened, rerun.cases_updated) == (0, (), ())
    assert len(list_cases(store.engine)) == len(cases)

    split = next(c for c in cases if c.subject_id == "pty-split")
    report = build_report(store.engine, split.id, reporter="officer-1")
    assert report["saleOutcome"] == "completed"
    assert report["buyers"][0]["identity"] is None  # the invented party was never registered in the vault
    assert any(s["cas"] == "7722-84-1" for s in report["substances"])
