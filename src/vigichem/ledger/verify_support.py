"""What the two passes of :mod:`vigichem.ledger.verification` share: rows, positions, reading stored JSON."""

from __future__ import annotations

import bisect
import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from vigichem.ledger.db import events
from vigichem.ledger.jsonio import loads

__all__ = [
    "ROW_COLUMNS",
    "ChunkResult",
    "HashFunction",
    "Positions",
    "event_document",
    "gc_paused",
    "loads_stored",
]

HashFunction = Callable[[dict[str, Any]], list[str]]
"""Hash IDs of a parsed EPCISDocument's events, in document order (``event_hash_ids``)."""

ROW_COLUMNS = (
    events.c.seq,
    events.c.hash_id,
    events.c.leaf_hash,
    events.c.event_json,
    events.c.document_id,
    events.c.document_index,
)
"""The stored columns both passes read, in this order."""


class Positions:
    """Where each seq should be, according to the capture records: (document id, index in the document)."""

    def __init__(self, documents: dict[int, tuple[int, int, Any]]) -> None:
        ordered = sorted((first, count, doc_id) for doc_id, (first, count, _ctx) in documents.items())
        self.starts = [first for first, _count, _doc in ordered]
        self.ordered = ordered
        self.total = sum(count for _first, count, _doc in ordered)
        self.home = {doc_id: (first, count) for first, count, doc_id in ordered}

    def expected(self, seq: int) -> tuple[int, int] | None:
        at = bisect.bisect_right(self.starts, seq) - 1
        if at < 0:
            return None
        first, count, doc_id = self.ordered[at]
        return (doc_id, seq - first) if seq < first + count else None

    def home_seq(self, document_id: int, index: int) -> int | None:
        placed = self.home.get(document_id)
        if placed is None or not 0 <= index < placed[1]:
            return None
        return placed[0] + index

    def runs(self, lo: int, hi: int) -> list[tuple[int | None, int, int, int]]:
        """``expected`` for seqs ``lo..hi-1`` as runs ``(document id or None, its first seq, start, end)``.

        Within a run every seq has the same expected document (None: no capture accounts for it), and its
        index is ``seq - first``; a run of a document ends at its count or where a later capture starts.
        """
        out: list[tuple[int | None, int, int, int]] = []
        starts = self.starts
        seq = lo
        while seq < hi:
            after = bisect.bisect_right(starts, seq)  # expected(x) uses ordered[after - 1] for x up to end
            end = min(hi, starts[after]) if after < len(starts) else hi
            covered = seq
            if after:
                first, count, doc_id = self.ordered[after - 1]
                covered = max(seq, min(end, first + count))
                if covered > seq:
                    out.append((doc_id, first, seq, covered))
            if covered < end:
                out.append((None, 0, covered, end))
            seq = end
        return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector around allocation-heavy, cycle-free work.

    Parsing and hashing thousands of events allocates millions of short-lived containers; each few
    hundred allocations trigger a collection that walks the young objects, and the older generations get
    walked too as the batch grows: a fifth or more of the CPU time of preparing a large document. JSON
    values hold no reference cycles, so reference counting frees them all the same. The collector is
    turned back on only by whoever found it on (concurrent callers never leave it off for good).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def loads_stored(text: Any) -> Any:
    """``json.loads(text)``: the same value or the same error, faster for stored text (see ``jsonio``)."""
    return loads(text) if type(text) is str else json.loads(text)


def event_document(event_list: list[Any], context: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "EPCISDocument", "epcisBody": {"eventList": event_list}}
    if context is not None:
        document["@context"] = context
    return document


class ChunkResult(NamedTuple):
    """A clean chunk ``lo..hi-1``: its Merkle frontier, and its partial frontiers at checkpoint sizes."""

    lo: int
    hi: int
    frontier: list[bytes]
    cuts: dict[int, list[bytes]]
