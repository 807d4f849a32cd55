"""Streaming with the capture's preparation in other processes gives the alerts of in-line streaming.

The simulator's **invented** supply chain (seed 9, 45 days, small documents) is replayed twice into fresh
nodes: in-line (``workers=1``, capture then judge, document by document) and pipelined (``workers=2``: the
next documents are prepared in two other processes while this one appends and judges). The alerts must be
the same in the same order, with the same fingerprints, explanations and evidence; the skipped documents (a
file that is not JSON, a document that capture rejects, placed between the others) are reported in the same
places with the same reasons; the two ledgers hold the same events in the same order.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vigichem.detect.engine import RunReport
from vigichem.detect.replay import replay_directory
from vigichem.ledger.db import events
from vigichem.ledger.node import init_node
from vigichem.ledger.store import LedgerStore
from vigichem.sim import SimConfig, simulate


def _alerts(report: RunReport) -> list[dict[str, Any]]:
    # Everything but the wall-clock moment of detection.
    return [{k: v for k, v in a.to_dict().items() if k != "detectedAt"} for a in report.alerts]


def _replay(directory: Path, node_dir: Path, workers: int) -> tuple[RunReport, list[tuple[int, str]]]:
    node = init_node(node_dir, "Pipeline test node (invented)", "FR")
    try:
        report = replay_directory(LedgerStore(node.engine), directory, jurisdiction="FR", workers=workers)
        with node.engine.connect() as connection:
            stored = [
                (int(r.seq), str(r.hash_id))
                for r in connection.execute(select(events.c.seq, events.c.hash_id))
            ]
    finally:
        node.close()
    return report, sorted(stored)


def test_pipelined_streaming_gives_the_alerts_of_inline_streaming(tmp_path: Path) -> None:
    simulate(SimConfig(seed=9, days=45, events_per_document=300), tmp_path / "sim")
    documents = tmp_path / "sim" / "documents"
    names = sorted(p.name for p in documents.glob("*.json"))
    # A file that is not JSON and a document that capture rejects, between the others; and one document
    # captured twice (its events are duplicates the second time: not judged again).
    (documents / f"{names[1][:-5]}a.json").write_text("{not json", encoding="utf-8")
    (documents / f"{names[2][:-5]}a.json").write_text('{"type": "EPCISDocument"}', encoding="utf-8")
    shutil.copy(documents / names[0], documents / f"{names[3][:-5]}b.json")

    inline, inline_ledger = _replay(tmp_path / "sim", tmp_path / "inline", workers=1)
    piped, piped_ledger = _replay(tmp_path / "sim", tmp_path / "piped", workers=2)

    assert len(inline.alerts) > 20 and {a.typology for a in inline.alerts} >= {"sale_indicator", "theft_loss"}
    assert _alerts(piped) == _alerts(inline)
    assert piped.skipped == inline.skipped
    assert [s.hash_id for s in inline.skipped] == [
        f"document:{names[1][:-5]}a.json",
        f"document:{names[2][:-5]}a.json",
    ]
    assert piped.events_seen == inline.events_seen
    assert piped_ledger == inline_ledger


def _scenario_documents() -> list[dict[str, Any]]:
    """Invented documents: the engine tests' scenario, one or two events each, with two documents that
    capture rejects (one at its schema, one at its event list) and a document sent twice."""
    from tests.detect.factories import at, document, sale
    from tests.detect.test_engine import scenario

    events = scenario()
    documents = [document(*events[i : i + 2]) for i in range(0, len(events), 2)]
    bad = sale(at(2.5), "pty-bad", 1.0)
    bad["quantityList"] = [{"epcClass": 7, "quantity": 1.0}]
    documents.insert(3, document(bad, sale(at(2.6), "pty-ok", 1.0)))
    documents.insert(5, {"type": "EPCISDocument"})  # rejected by capture
    documents.append(documents[1])  # sent again: nothing new to judge
    return documents


def _stream(
    node_dir: Path, documents: list[dict[str, Any]], workers: int, catalogue_from: str = "start"
) -> tuple[list[Any], RunReport]:
    """Stream the documents into a fresh node (workers=1: DetectionEngine.capture, one by one).

    ``catalogue_from``: ``start`` (the engine's catalogue holds the products from the start), ``second``
    (it starts empty and they are registered once the first document is judged: the pipelined workers
    then hold an old copy) or ``never`` (it stays empty)."""
    from tests.detect.factories import masterdata
    from vigichem.detect.engine import DetectionEngine
    from vigichem.detect.facts import Catalogue
    from vigichem.errors import VigichemError
    from vigichem.ledger.masterdata import MasterData

    node = init_node(node_dir, "Pipeline test node (invented)", "FR")
    try:
        MasterData(node.engine).load(masterdata())
        store = LedgerStore(node.engine)
        products = list(Catalogue(node.engine).by_id.values())
        catalogue = None if catalogue_from == "start" else Catalogue(None)
        register_after_first = catalogue_from == "second"
        detector = DetectionEngine(node.engine, "EU", catalogue=catalogue)
        outcomes: list[Any] = []
        if workers == 1:
            for position, doc in enumerate(documents):
                try:
                    result, alerts = detector.capture(store, doc)
                    outcomes.append((sorted(result.new), len(result.duplicates), len(alerts)))
                except VigichemError as error:
                    outcomes.append(error.message)
                if position == 0 and register_after_first:
                    detector.catalogue.add(products)
        else:
            for position, (outcome, found) in enumerate(
                detector.capture_many(store, documents, workers=workers)
            ):
                if isinstance(outcome, VigichemError):
                    outcomes.append(outcome.message)
                else:
                    outcomes.append((sorted(outcome.new), len(outcome.duplicates), len(found)))
                if position == 0 and register_after_first:
                    detector.catalogue.add(products)
    finally:
        node.close()
    return outcomes, detector.report


def test_capture_many_judges_as_capture_does_with_facts_read_in_the_workers(tmp_path: Path) -> None:
    documents = _scenario_documents()
    inline, inline_report = _stream(tmp_path / "inline", documents, 1)
    piped, piped_report = _stream(tmp_path / "piped", documents, 2)
    assert piped == inline
    assert _alerts(piped_report) == _alerts(inline_report)
    assert (
        piped_report.skipped == inline_report.skipped
        and piped_report.events_seen == inline_report.events_seen
    )
    assert {a.typology for a in inline_report.alerts} >= {"split_purchase", "theft_loss"}
    assert sum(isinstance(outcome, str) for outcome in inline) == 2  # the rejections were compared too


def test_a_catalogue_changed_during_the_run_is_honoured(tmp_path: Path) -> None:
    # The workers copied the empty catalogue: every document judged after the registration has its facts
    # read again in this process, as in-line streaming reads them.
    documents = _scenario_documents()
    inline, inline_report = _stream(tmp_path / "inline", documents, 1, "second")
    piped, piped_report = _stream(tmp_path / "piped", documents, 2, "second")
    assert piped == inline
    assert _alerts(piped_report) == _alerts(inline_report)
    assert piped_report.skipped == inline_report.skipped
    # The registration changes what is found (so the copy in the workers would have been wrong).
    _, never = _stream(tmp_path / "never", documents, 1, "never")
    assert _alerts(never) != _alerts(inline_report)


def test_workers_spawned_beside_another_thread_judge_alike(tmp_path: Path) -> None:
    # With another thread running, the workers are spawned (vigichem.ledger.processes.worker_context): they
    # import everything again and get the catalogue through pickling, and must read the same facts.
    import threading

    from vigichem.ledger.processes import worker_context

    documents = _scenario_documents()[:6]
    inline, inline_report = _stream(tmp_path / "inline", documents, 1)
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        assert worker_context().get_start_method() == "spawn"
        piped, piped_report = _stream(tmp_path / "piped", documents, 2)
    finally:
        release.set()
        other.join()
    assert piped == inline and _alerts(piped_report) == _alerts(inline_report)
    assert inline_report.alerts
