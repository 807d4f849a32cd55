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
