"""Streaming detection over invented events (see tests/detect/factories.py)."""

from __future__ import annotations

from tests.detect.factories import at, document, sale
from vigichem.detect.engine import DetectionEngine
from vigichem.ledger.store import LedgerStore


def test_split_purchase_one_seller(loaded: LedgerStore) -> None:
    detector = DetectionEngine(loaded.engine, "EU")
    alerts = []
    for day in range(4):
        alerts += detector.capture(loaded, document(sale(at(day), "pty-a1", 6.0)))[1]
    print([a.to_dict() for a in alerts], detector.report.skipped)
    assert [a.typology for a in alerts] == ["split_purchase"]
