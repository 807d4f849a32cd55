"""capture_many: prepared in worker processes, appended in order, bad documents reported in place."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.ledger.conftest import make_document
from vigichem.errors import InvalidDocument, VigichemError
from vigichem.ledger import pipeline, service
from vigichem.ledger.indexing import EVENT_COLUMNS
from vigichem.ledger.node import Node
from vigichem.ledger.pipeline import capture_many
from vigichem.ledger.service import verify


@pytest.mark.parametrize("workers", [1, 2])
def test_capture_many_keeps_order_and_reports_bad_documents(node: Node, workers: int) -> None:
    bad = make_document(2, start=100)
    bad["epcisBody"]["eventList"][0]["quantityList"][0]["quantity"] = -1
    documents: list[bytes | dict[str, object]] = [
        json.dumps(make_document(3, start=0)).encode(),
        bad,
        json.dumps(make_document(3, start=3)).encode(),
        make_document(3, start=0),  # duplicates of the first
    ]
    results = list(capture_many(node.store, documents, signer=node.signer, workers=workers))
    assert isinstance(results[1], VigichemError)
    first, third, fourth = results[0], results[2], results[3]
    assert not isinstance(first, VigichemError) and first.first_seq == 0 and len(first.new) == 3
    assert not isinstance(third, VigichemError) and third.first_seq == 3
    assert not isinstance(fourth, VigichemError) and fourth.duplicates == first.new
    assert verify(node.store, node.identity.public_key).ok


def test_a_document_the_database_refuses_is_reported_in_place(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Validation refuses a NUL in every indexed text field; should one reach the store anyway, PostgreSQL
    # refuses the row (SQLite stores it): capture_many reports that document and goes on.
    def prepare_with_a_nul(raw: Any, max_bytes: int | None = None) -> Any:
        indexed, meta = service.prepare(raw, max_bytes)
        if raw["epcisBody"]["eventList"][0]["eventTime"] == odd["epcisBody"]["eventList"][0]["eventTime"]:
            row = list(indexed[0].row)
            row[EVENT_COLUMNS.index("biz_location")] = "urn:example:nul\x00here"
            indexed[0] = indexed[0]._replace(row=tuple(row))
        return indexed, meta

    odd = make_document(2, start=50)
    monkeypatch.setattr(pipeline, "prepare", prepare_with_a_nul)
    documents = [make_document(2, start=0), odd, make_document(2, start=2)]
    results = list(capture_many(node.store, documents, signer=node.signer, workers=1))
    if node.engine.dialect.name == "postgresql":
        assert isinstance(results[1], InvalidDocument) and "cannot store" in results[1].message
    else:
        assert not isinstance(results[1], VigichemError)
    assert not isinstance(results[0], VigichemError) and not isinstance(results[2], VigichemError)
    assert verify(node.store, node.identity.public_key).ok


def test_capture_many_spawns_its_workers_beside_other_threads(node: Node) -> None:
    """A web server captures with other threads running: fork would copy only the calling thread (and any
    lock another one holds), so the workers are spawned, and the documents still go in, in order."""
    from vigichem.ledger.processes import worker_context

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert worker_context().get_start_method() == "spawn"
        documents = [make_document(2, start=0), make_document(2, start=2)]
        results = list(capture_many(node.store, documents, signer=node.signer, workers=2))
    finally:
        stop.set()
        other.join()
    assert [r.first_seq for r in results if not isinstance(r, VigichemError)] == [0, 2]
    assert verify(node.store, node.identity.public_key).ok
