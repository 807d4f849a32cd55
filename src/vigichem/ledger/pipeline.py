"""Capture many documents at the speed of the machine: preparation in worker processes, one writer.

Preparing a document (parse, schema and semantic validation, CBV hashing, indexing) is pure CPU work in
Python; appending it is a short serialised transaction. :func:`capture_many` runs the preparation of the
next documents in a process pool while the calling process appends the previous ones, in input order, one
transaction per document (each all-or-nothing and durable, exactly as :func:`vigichem.ledger.service.capture`
does). A document that fails preparation is reported in its place and the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

from vigichem.errors import VigichemError
from vigichem.ledger.indexing import IndexedEvent
from vigichem.ledger.models import CaptureResult
from vigichem.ledger.processes import in_order, usable_cpus, worker_context
from vigichem.ledger.service import prepare
from vigichem.ledger.store import CheckpointSigner, DocumentMeta, LedgerStore

__all__ = ["capture_many", "default_workers"]

Prepared = tuple[list[IndexedEvent], DocumentMeta] | VigichemError


def default_workers() -> int:
    """Worker processes for preparation: the CPUs this process may use, less one for the writer."""
    return max(1, usable_cpus() - 1)


def _prepare_safely(raw_or_doc: bytes | str | dict[str, Any], max_bytes: int | None) -> Prepared:
    try:
        return prepare(raw_or_doc, max_bytes)
    except VigichemError as error:  # returned, not raised: one bad document must not stop the batch
        return error


def _append_safely(
    store: LedgerStore, prepared: Prepared, signer: CheckpointSigner | None
) -> CaptureResult | VigichemError:
    if isinstance(prepared, VigichemError):
        return prepared
    try:
        return store.append(*prepared, signer)
    except VigichemError as error:  # e.g. a value the database cannot store: nothing of it was stored
        return error


def capture_many(
    store: LedgerStore,
    documents: Iterable[bytes | str | dict[str, Any]],
    *,
    signer: CheckpointSigner | None = None,
    max_bytes: int | None = None,
    workers: int | None = None,
) -> Iterator[CaptureResult | VigichemError]:
    """Capture each document (in order); yield its result, or the error that rejected it."""
    count = default_workers() if workers is None else workers
    if count <= 1:
        for document in documents:
            yield _append_safely(store, _prepare_safely(document, max_bytes), signer)
        return
    prepare_one = partial(_prepare_safely, max_bytes=max_bytes)
    with ProcessPoolExecutor(max_workers=count, mp_context=worker_context()) as pool:
        # Bounded read-ahead (2 per worker) keeps memory flat over any number of documents.
        for _document, prepared in in_order(pool, prepare_one, documents, 2 * count):
            yield _append_safely(store, prepared, signer)
