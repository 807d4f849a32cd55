"""Streaming detection over a directory of EPCIS documents (a simulator run, a day's exports).

Each document is captured into the ledger and its new events judged at once (the streaming path of
:class:`~vigichem.detect.engine.DetectionEngine`); the ledger-wide rules (shipments against receipts) run
every ``scan_every_days`` of event time and once at the end. A document the ledger rejects is reported as
skipped and the replay goes on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

from vigichem.detect.engine import DetectionEngine, RunReport, SkippedEvent
from vigichem.detect.pipeline import capture_sources, last_event_time, read_document
from vigichem.errors import InvalidInput, VigichemError
from vigichem.ledger.store import LedgerStore

__all__ = ["replay_directory"]


Outcome = tuple[int, Path, bool, dt.datetime | None, str | None]
"""(position from 1, file, whether it was captured, its latest event time, why it was skipped)."""


def _inline(detector: DetectionEngine, store: LedgerStore, files: list[Path]) -> Iterator[Outcome]:
    for done, path in enumerate(files, start=1):
        try:
            document = read_document(path)
            detector.capture(store, document)
        except (VigichemError, ValueError) as error:
            yield done, path, False, None, error.message if isinstance(error, VigichemError) else str(error)
            continue
        yield done, path, True, last_event_time(document), None


def _pipelined(
    detector: DetectionEngine, store: LedgerStore, files: list[Path], workers: int
) -> Iterator[Outcome]:
    """As :func:`_inline`, with the files read and prepared and their facts read in ``workers`` processes
    (:func:`vigichem.detect.pipeline.capture_sources`); files that are not JSON are reported in place."""
    for done, captured in enumerate(capture_sources(detector, store, files, workers=workers), start=1):
        path = files[done - 1]
        if captured.unreadable is not None:
            yield done, path, False, None, captured.unreadable
        elif isinstance(captured.result, VigichemError):
            yield done, path, False, None, captured.result.message
        else:
            yield done, path, True, captured.latest, None


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
    ``workers``: with 2 or more, the next files are read and prepared and their events' facts read in that
    many other processes while this one appends and judges (:mod:`vigichem.detect.pipeline`); the alerts
    are the same. A document that capture rejects is skipped either way; an unexpected error (not a rejection)
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
    for done, path, captured, moment, reason in outcomes:
        if not captured:
            detector.report.skipped.append(SkippedEvent(f"document:{path.name}", str(reason)))
            continue
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
