"""Streaming detection over a directory of EPCIS documents (a simulator run, a day's exports).

Each document is captured into the ledger and its new events judged at once (the streaming path of
:class:`~vigichem.detect.engine.DetectionEngine`); the ledger-wide rules (shipments against receipts) run
every ``scan_every_days`` of event time and once at the end. A document the ledger rejects is reported as
skipped and the replay goes on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from vigichem.detect.engine import DetectionEngine, RunReport, SkippedEvent
from vigichem.detect.facts import parse_event_time
from vigichem.errors import InvalidInput, VigichemError
from vigichem.ledger.hashid import document_events
from vigichem.ledger.store import LedgerStore

__all__ = ["replay_directory"]


def _last_event_time(document: dict[str, object]) -> dt.datetime | None:
    latest = None
    for event in document_events(document):
        try:
            moment = parse_event_time(event.get("eventTime") if isinstance(event, dict) else None)
        except VigichemError:
            continue
        latest = moment if latest is None or moment > latest else latest
    return latest


Outcome = tuple[int, Path, dict[str, object] | None, str | None]
"""(position from 1, file, the document captured, or None and why the document was skipped)."""


def _inline(detector: DetectionEngine, store: LedgerStore, files: list[Path]) -> Iterator[Outcome]:
    for done, path in enumerate(files, start=1):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            detector.capture(store, document)
        except (VigichemError, ValueError) as error:
            yield done, path, None, error.message if isinstance(error, VigichemError) else str(error)
            continue
        yield done, path, document, None


def _pipelined(
    detector: DetectionEngine, store: LedgerStore, files: list[Path], workers: int
) -> Iterator[Outcome]:
    """As :func:`_inline`, with the capture's preparation in ``workers`` processes
    (:meth:`DetectionEngine.capture_many`); files that are not JSON are reported in their place."""
    order: deque[Outcome] = deque()

    def feed() -> Iterator[dict[str, object]]:
        for done, path in enumerate(files, start=1):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as error:
                order.append((done, path, None, str(error)))
                continue
            order.append((done, path, document, None))
            yield document

    for result, _ in detector.capture_many(store, feed(), workers=workers):
        while order[0][3] is not None:  # files before this document that were not JSON
            yield order.popleft()
        done, path, document, _reason = order.popleft()
        if isinstance(result, VigichemError):
            yield done, path, None, result.message
        else:
            yield done, path, document, None
    yield from order


def replay_directory(
    store: LedgerStore,
    directory: Path,
    *,
    jurisdiction: str = "EU",
    scan_every_days: float = 7.0,
    load_masterdata: bool = True,
    record: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> RunReport:
    """Capture and judge ``directory/documents/*.json`` in name order (``masterdata.yaml`` loaded first).

    ``record``: the alerts become cases as they are found (``vigichem.cases.record_alerts``).
    ``workers``: with 2 or more, the capture's preparation of the next documents runs in that many other
    processes while this one appends and judges (:meth:`DetectionEngine.capture_many`); the alerts are the
    same. A document that capture rejects is skipped either way; an unexpected error (not a rejection)
    stops the run.
    """
    files = sorted((directory / "documents").glob("*.json"))
    if not files:
        raise InvalidInput(f"{directory}: no documents/*.json to replay")
    if load_masterdata and (directory / "masterdata.yaml").is_file():
        from vigichem.ledger.masterdata import MasterData

        MasterData(store.engine).load(directory / "masterdata.yaml", jurisdiction=jurisdiction)
    detector = DetectionEngine(store.engine, jurisdiction, record=record)
    last_scan: dt.datetime | None = None
    latest: dt.datetime | None = None
    outcomes = _pipelined(detector, store, files, workers) if workers > 1 else _inline(detector, store, files)
    for done, path, document, reason in outcomes:
        if document is None:
            detector.report.skipped.append(SkippedEvent(f"document:{path.name}", str(reason)))
            continue
        moment = _last_event_time(document)
        if moment is not None:
            latest = moment if latest is None or moment > latest else latest
            if last_scan is None:
                last_scan = moment
            elif (moment - last_scan).total_seconds() >= scan_every_days * 86400:
                detector.scan(moment)
                last_scan = moment
        if progress is not None:
            progress(done, len(files))
    if latest is not None:
        detector.scan(latest)
    return detector.report
