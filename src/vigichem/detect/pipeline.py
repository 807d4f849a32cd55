"""Pipelined streaming: the capture's preparation *and* the facts of each event, in other processes.

Streaming detection appends each document and judges its new events, in order, in one process (the rules
read the state and the ledger of everything before). What does not depend on that order runs in worker
processes on the next documents meanwhile:

* reading the file and parsing its JSON (the parsed document never travels: only its path goes out);
* the capture's preparation (:func:`vigichem.ledger.service.prepare`: validation, CBV hash IDs, indexing);
* the facts of every event (:func:`~vigichem.detect.facts.facts_or_reason`, with a copy of the engine's
  product catalogue), sent back as plain tuples (:func:`~vigichem.detect.facts.facts_row`);
* the designer-precursor screening of each flagged substance of a sale on its day
  (:func:`~vigichem.detect.rules.designer.watch_reasons`, a pure function of its arguments);
* the document's latest event time (when :func:`~vigichem.detect.replay.replay_directory` scans).

The main process then appends the prepared rows (one transaction per document, as
:func:`vigichem.ledger.service.capture`), keeps the screenings and judges the new events from their facts
(:meth:`~vigichem.detect.engine.DetectionEngine.judge_prepared`), exactly as in-line streaming would:
the facts are those the main process would have read (the same function on the same event, hash ID,
``@context`` and catalogue), and the events judged are the same, in the same order. Should the engine's
catalogue change during a run (:meth:`~vigichem.detect.facts.Catalogue.add`), the facts of the documents
prepared with the old copy are read again here. ``tests/detect/test_pipeline.py`` compares the alerts with
in-line streaming.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigichem.detect.engine import DetectionEngine
from vigichem.detect.facts import (
    Catalogue,
    EventFacts,
    FactsRow,
    facts_from_row,
    facts_or_reason,
    facts_row,
    parse_event_time,
)
from vigichem.detect.models import Alert
from vigichem.detect.rules.designer import (
    DesignerPrecursor,
    WatchKey,
    remember_watch_reasons,
    watch_reasons,
    watched_substances,
)
from vigichem.errors import VigichemError
from vigichem.ledger.hashid import document_events
from vigichem.ledger.indexing import IndexedEvent
from vigichem.ledger.models import CaptureResult
from vigichem.ledger.processes import in_order, worker_context
from vigichem.ledger.service import prepare
from vigichem.ledger.store import DocumentMeta, LedgerStore

__all__ = ["Captured", "capture_sources", "last_event_time"]

Source = Path | dict[str, Any]
"""A document to capture: a file (read and parsed in the worker) or an already parsed document."""


def last_event_time(document: dict[str, Any]) -> dt.datetime | None:
    """The latest readable ``eventTime`` of a document's events (None when none is readable)."""
    latest = None
    for event in document_events(document):
        try:
            moment = parse_event_time(event.get("eventTime") if isinstance(event, dict) else None)
        except VigichemError:
            continue
        latest = moment if latest is None or moment > latest else latest
    return latest


def read_document(path: Path) -> Any:
    """A document file as streaming reads it (``ValueError``, with its reason, when it is not JSON)."""
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What a worker sends back for one document."""

    unreadable: str | None = None  # why the file is not JSON (then nothing else is set)
    rejected: VigichemError | None = None  # why capture refused the document
    indexed: list[IndexedEvent] = field(default_factory=list)
    meta: DocumentMeta | None = None
    facts: list[FactsRow | str] = field(default_factory=list)  # per event, in document order
    watched: dict[WatchKey, tuple[str, ...]] = field(default_factory=dict)
    latest: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Captured:
    """One document's outcome, in input order.

    ``result``: the capture result, or the error that rejected the document, or None when the file was
    not JSON (``unreadable`` says why); ``alerts``: the alerts of its new events; ``latest``: the latest
    readable event time of a captured document.
    """

    source: Source
    result: CaptureResult | VigichemError | None
    alerts: list[Alert]
    unreadable: str | None = None
    latest: dt.datetime | None = None


# The worker's copy of the engine's catalogue, and the jurisdiction to screen watched substances in (None
# when the designer-precursor rule is off): set once per worker process by _start_worker.
_WORKER: dict[str, Any] = {}


def _start_worker(by_gtin: dict[str, Any], by_id: dict[str, Any], watch_jurisdiction: str | None) -> None:
    catalogue = Catalogue(None)
    catalogue.by_gtin, catalogue.by_id = by_gtin, by_id
    _WORKER["catalogue"] = catalogue
    _WORKER["watch"] = watch_jurisdiction


def _prepare(source: Source) -> _Prepared:
    """Everything about one document that does not depend on the documents before it (in a worker)."""
    if isinstance(source, Path):
        try:
            document = read_document(source)
        except ValueError as error:
            return _Prepared(unreadable=str(error))
    else:
        document = source
    try:
        indexed, meta = prepare(document)
    except VigichemError as error:  # returned, not raised: one bad document must not stop the run
        return _Prepared(rejected=error)
    catalogue: Catalogue = _WORKER["catalogue"]
    jurisdiction: str | None = _WORKER["watch"]
    context = document.get("@context")
    rows: list[FactsRow | str] = []
    watched: dict[WatchKey, tuple[str, ...]] = {}
    for item, event in zip(indexed, document_events(document), strict=True):
        facts = facts_or_reason(item.hash_id, event, catalogue, context)
        if isinstance(facts, str):
            rows.append(facts)
            continue
        rows.append(facts_row(facts))
        if jurisdiction is not None:
            day = facts.event_time.date()
            for substance in watched_substances(facts):
                key = (substance.key, jurisdiction, day)
                if key not in watched:
                    watched[key] = watch_reasons(*key)
    return _Prepared(
        indexed=indexed,
        meta=meta,
        facts=rows,
        watched=watched,
        latest=last_event_time(document),
    )


def capture_sources(
    detector: DetectionEngine, store: LedgerStore, sources: Iterable[Source], *, workers: int
) -> Iterator[Captured]:
    """Capture and judge each document in order, with the work that does not depend on the order (above)
    done by ``workers`` other processes on the next documents; yield each document's outcome.

    A file that is not JSON and a document that capture rejects (at preparation or at the append) are
    yielded in their place with the reason; an unexpected error stops the run.
    """
    catalogue = detector.catalogue
    version = catalogue.version
    watch = next((r.jurisdiction for r in detector.rules if isinstance(r, DesignerPrecursor)), None)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=worker_context(),
        initializer=_start_worker,
        initargs=(catalogue.by_gtin, catalogue.by_id, watch),
    ) as pool:
        # Bounded read-ahead (2 per worker) keeps memory flat over any number of documents.
        for source, prepared in in_order(pool, _prepare, sources, 2 * workers):
            if prepared.unreadable is not None:
                yield Captured(source, None, [], unreadable=prepared.unreadable)
                continue
            if prepared.rejected is not None or prepared.meta is None:
                yield Captured(source, prepared.rejected, [])
                continue
            try:
                result = store.append(prepared.indexed, prepared.meta)
            except VigichemError as error:  # a value the database cannot store: nothing was stored
                yield Captured(source, error, [])
                continue
            remember_watch_reasons(prepared.watched)
            facts: list[EventFacts | str]
            if detector.catalogue is catalogue and catalogue.version == version:
                facts = [row if isinstance(row, str) else facts_from_row(row) for row in prepared.facts]
            else:  # the catalogue changed after the workers copied it: read the facts again here
                facts = _facts_here(detector, source)
            hash_ids = [item.hash_id for item in prepared.indexed]
            yield Captured(
                source, result, detector.judge_prepared(result, hash_ids, facts), latest=prepared.latest
            )


def _facts_here(detector: DetectionEngine, source: Source) -> list[EventFacts | str]:
    from vigichem.ledger.service import ledger_hash_ids

    document = read_document(source) if isinstance(source, Path) else source
    context = document.get("@context")
    return [
        facts_or_reason(hash_id, event, detector.catalogue, context)
        for hash_id, event in zip(ledger_hash_ids(document), document_events(document), strict=True)
    ]
