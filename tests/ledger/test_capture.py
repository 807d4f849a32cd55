"""Capture: every official GS1 example round-trips; duplicates are no-ops; bad documents store nothing."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import example_documents, load_example, make_document
from vigichem.errors import InputTooLarge, InvalidDocument, InvalidInput
from vigichem.ledger.hashid import event_hash_ids
from vigichem.ledger.indexing import EVENT_COLUMNS, _stored_event_time, parse_event_time, stored_time
from vigichem.ledger.node import Node
from vigichem.ledger.query import EventQuery, query_document, run_query
from vigichem.ledger.service import capture, ledger_hash_ids, prepare, verify

ADDED_ON_OUTPUT = ("eventID", "recordTime", "@context")  # "@context" where prefixes clash


def _without_added(event: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k in original or k not in ADDED_ON_OUTPUT}


def _all_events(node: Node) -> list[dict[str, Any]]:
    page = run_query(node.store, EventQuery.from_params({"perPage": "10000"}))
    return query_document(page)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_official_examples_exist() -> None:
    assert len(example_documents()) >= 40


def test_every_official_example_is_captured_and_queried_back_equivalent(node: Node) -> None:
    expected: dict[str, dict[str, Any]] = {}
    for path in example_documents():
        document = json.loads(path.read_text(encoding="utf-8"))
        result = capture(node.store, path.read_bytes(), signer=node.signer)
        ids = ledger_hash_ids(document)
        assert set(result.new) | set(result.duplicates) == set(ids), path.name
        for hash_id, event in zip(ids, document["epcisBody"]["eventList"], strict=True):
            expected.setdefault(hash_id, event)
    returned = _all_events(node)
    assert len(returned) == len(expected)
    for event in returned:
        original = expected.get(event["eventID"])
        if original is None:  # the example carried its own eventID; find it by content
            matches = [o for o in expected.values() if _without_added(event, o) == o]
            assert matches, event
            continue
        assert _without_added(event, original) == original
    assert verify(node.store, node.identity.public_key).ok


def test_query_document_events_rehash_to_the_same_ids(node: Node) -> None:
    document = load_example("Example_9.6.1-ObjectEvent.jsonld")
    result = capture(node.store, document, signer=node.signer)
    page = run_query(node.store, EventQuery.from_params({}))
    assert event_hash_ids(query_document(page)) == result.new


def test_error_declaration_is_a_new_event_not_a_duplicate(node: Node) -> None:
    original = make_document(1)
    first = capture(node.store, original, signer=node.signer)
    declared = make_document(1)
    declared["epcisBody"]["eventList"][0]["errorDeclaration"] = {
        "declarationTime": "2026-03-02T09:00:00.000+01:00",
        "reason": "incorrect_data",
    }
    correction = capture(node.store, declared, signer=node.signer)
    assert len(correction.new) == 1 and correction.new != first.new
    assert event_hash_ids(declared) == first.new  # CBV names the declared event by the original's ID
    assert capture(node.store, declared, signer=node.signer).duplicates == correction.new
    assert node.store.event_count() == 2


def test_same_document_twice_is_a_no_op(node: Node) -> None:
    document = load_example("Example_9.6.2-ObjectEvent.jsonld")
    first = capture(node.store, document, signer=node.signer)
    again = capture(node.store, document, signer=node.signer)
    assert again.new == [] and again.duplicates == first.new
    assert node.store.event_count() == len(first.new)


def _assert_nothing_stored(node: Node) -> None:
    assert node.store.event_count() == 0
    assert node.store.log_state()[0] == 0
    assert node.store.checkpoints() == []


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (
            lambda d: d["epcisBody"]["eventList"][2]["quantityList"][0].update(quantity=-5),
            "/epcisBody/eventList/2",
        ),
        (
            lambda d: d["epcisBody"]["eventList"][1]["quantityList"][0].update(uom="XYZ"),
            "/epcisBody/eventList/1",
        ),
        (lambda d: d["epcisBody"]["eventList"][3].pop("eventTimeZoneOffset"), "/epcisBody/eventList/3"),
        (lambda d: d["epcisBody"]["eventList"][0].update(action="SHOUT"), "/epcisBody/eventList/0"),
    ],
    ids=["negative-quantity", "unknown-unit", "missing-offset", "schema-violation"],
)
def test_one_invalid_event_rejects_the_whole_document(node: Node, mutate: Any, pointer: str) -> None:
    document = make_document(4)
    mutate(document)
    with pytest.raises(InvalidInput) as raised:
        capture(node.store, json.dumps(document), signer=node.signer)
    errors = raised.value.details.get("errors", [])
    assert any(str(error.get("path", "")).startswith(pointer) for error in errors), raised.value.details
    _assert_nothing_stored(node)


def test_malformed_json_is_refused(node: Node) -> None:
    with pytest.raises(InvalidDocument):
        capture(node.store, b'{"type": "EPCISDocument", "epcisBody": {', signer=node.signer)
    _assert_nothing_stored(node)


def test_oversized_document_is_refused(node: Node) -> None:
    raw = json.dumps(make_document(50)).encode()
    with pytest.raises(InputTooLarge):
        capture(node.store, raw, signer=node.signer, max_bytes=len(raw) - 1)
    _assert_nothing_stored(node)


def test_capture_from_text_file(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(make_document(3)), encoding="utf-8")
    assert len(capture(node.store, path.read_text(encoding="utf-8"), signer=node.signer).new) == 3


def test_time_outside_the_utc_range_is_refused(node: Node) -> None:
    document = make_document(2)
    document["epcisBody"]["eventList"][1]["eventTime"] = "0001-01-01T00:30:00+01:00"  # before year 1 in UTC
    with pytest.raises(InvalidDocument) as raised:
        capture(node.store, document, signer=node.signer)
    assert raised.value.details["errors"][0]["path"] == "/epcisBody/eventList/1/eventTime"
    _assert_nothing_stored(node)


def test_text_that_is_not_unicode_is_refused_whole(node: Node) -> None:
    raw = json.dumps(make_document(3)).replace(
        '"type": "ObjectEvent"', '"type": "ObjectEvent", "comment": "\\ud800"'
    )
    with pytest.raises(InvalidDocument, match="lone UTF-16 surrogate") as raised:
        capture(node.store, raw, signer=node.signer)
    assert [e["path"] for e in raised.value.details["errors"]] == [
        f"/epcisBody/eventList/{i}/comment" for i in range(3)
    ]
    _assert_nothing_stored(node)


def test_a_quantity_too_large_for_any_number_is_refused_whole(node: Node) -> None:
    document = make_document(2)
    document["epcisBody"]["eventList"][1]["quantityList"][0]["quantity"] = 10**400
    with pytest.raises(InvalidDocument, match="too large"):
        capture(node.store, json.dumps(document), signer=node.signer)
    _assert_nothing_stored(node)


def test_a_value_the_database_cannot_store_is_refused_whole(node: Node) -> None:
    indexed, meta = prepare(make_document(3))
    row = list(indexed[2].row)
    row[EVENT_COLUMNS.index("biz_location")] = "urn:example:nul\x00here"  # PostgreSQL text cannot hold NUL
    indexed[2] = indexed[2]._replace(row=tuple(row))
    if node.engine.dialect.name == "postgresql":
        with pytest.raises(InvalidDocument, match="cannot store"):
            node.store.append(indexed, meta, node.signer)
        _assert_nothing_stored(node)
    else:  # SQLite stores any text
        assert len(node.store.append(indexed, meta, node.signer).new) == 3


def test_event_time_fast_path_stores_what_the_general_path_stores() -> None:
    # index_event converts valid times without building error pointers; parse_event_time is the reference
    # and still names every error.
    randomness = random.Random(11)
    dates = ["2026-03-01", "0001-01-01", "9999-12-31", "2024-02-29", "2023-02-29", "2026-13-01", "26-03-01"]
    separators = ["T", " ", "t", ""]
    clocks = ["00:30:00", "23:59:59", "12:00", "24:00:00", "7:00:00"]
    fractions = ["", ".5", ".123456", ".1234567", "."]
    zones = ["Z", "z", "+01:00", "-14:00", "+0100", "+24:00", "", "x"]
    valid = 0
    for _ in range(3000):
        text = "".join(randomness.choice(part) for part in (dates, separators, clocks, fractions, zones))
        try:
            expected: str | None = stored_time(parse_event_time(text, "/p"))
            valid += 1
        except InvalidDocument:
            expected = None
        assert _stored_event_time(text) == expected, text
    assert valid > 200
    assert _stored_event_time("2026-03-01T00:30:00+01:00") == "2026-02-28 23:30:00.000000"
    assert _stored_event_time(20260301) is None
