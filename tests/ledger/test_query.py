"""EPCIS 2.0 query parameters against the store (SQLite and PostgreSQL), and the frontier arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.ledger.conftest import load_example, make_document
from vigichem.errors import InputTooLarge, InvalidInput
from vigichem.ledger import merkle
from vigichem.ledger.checkpoints import append_to_frontier, frontier_root
from vigichem.ledger.node import Node
from vigichem.ledger.query import EventQuery, query_document, run_query
from vigichem.ledger.service import capture


def _events(node: Node, **params: Any) -> list[dict[str, Any]]:
    page = run_query(node.store, EventQuery.from_params(params))
    result: list[dict[str, Any]] = query_document(page)["epcisBody"]["queryResults"]["resultsBody"][
        "eventList"
    ]
    return result


@pytest.fixture
def loaded(node: Node) -> Node:
    capture(node.store, make_document(6), signer=node.signer)  # invented shipments, LOT0..LOT5
    for name in ("Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld"):
        capture(node.store, load_example(name), signer=node.signer)
    capture(node.store, load_example("Example_9.6.4-TransformationEvent.jsonld"), signer=node.signer)
    return node


def test_event_type_and_action(loaded: Node) -> None:
    assert {e["type"] for e in _events(loaded, eventType="AggregationEvent|TransformationEvent")} == {
        "AggregationEvent",
        "TransformationEvent",
    }
    assert all(e["action"] == "OBSERVE" for e in _events(loaded, EQ_action="OBSERVE"))


def test_cbv_values_match_as_words_or_uris(loaded: Node) -> None:
    words = _events(loaded, EQ_disposition="in_transit")
    uris = _events(loaded, EQ_disposition="https://ref.gs1.org/cbv/Disp-in_transit")
    assert len(words) == len(uris) == 7  # six invented shipments and one official example


def test_epc_patterns_and_parties(loaded: Node) -> None:
    by_pattern = _events(loaded, MATCH_epc="urn:epc:idpat:sgtin:0614141.107346.*")
    assert by_pattern and all(
        any(
            epc.startswith("urn:epc:id:sgtin:0614141.107346.")
            for epc in e.get("epcList", []) + e.get("childEPCs", [])  # MATCH_epc covers both (EPCIS 8.2.7.1)
        )
        for e in by_pattern
    )
    assert len(_events(loaded, MATCH_anyEPCClass="urn:epc:class:lgtin:0614141.107346.LOT2")) == 1
    assert len(_events(loaded, EQ_source_owning_party="urn:epc:id:pgln:0614141.00001")) == 6
    assert len(_events(loaded, EQ_partyRef="pty-test-3")) == 1


def test_order_limit_and_max_count(loaded: Node) -> None:
    latest = _events(loaded, orderBy="eventTime", eventCountLimit="1")
    assert len(latest) == 1 and latest[0]["eventTime"].startswith("2026-03-01T00:00:05")
    oldest = _events(loaded, orderBy="eventTime", orderDirection="ASC", eventCountLimit="1")
    assert oldest[0]["eventTime"].startswith("2005")
    with pytest.raises(InputTooLarge):
        _events(loaded, maxEventCount="3")


@pytest.mark.parametrize(
    "params",
    [
        {"EQ_colour": "red"},
        {"orderBy": "quantity"},
        {"orderDirection": "UP", "orderBy": "eventTime"},
        {"eventCountLimit": "2"},
        {"eventCountLimit": "1", "maxEventCount": "1", "orderBy": "eventTime"},
        {"GE_eventTime": "yesterday"},
        {"GE_eventTime": "2026-03-01T00:00:00"},
        {"perPage": "0"},
        {"nextPageToken": "abc"},
        {"eventType": ""},
    ],
)
def test_bad_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        EventQuery.from_params(params)


@given(st.lists(st.binary(min_size=1, max_size=8), max_size=70), st.integers(min_value=0, max_value=70))
def test_frontier_root_equals_the_rfc9162_root(data: list[bytes], split: int) -> None:
    leaves = [merkle.leaf_hash(item) for item in data]
    frontier: list[bytes] = []
    size = append_to_frontier(frontier, 0, leaves[:split])
    assert frontier_root(frontier) == merkle.root_hash(leaves[:split])
    size = append_to_frontier(frontier, size, leaves[split:])
    assert size == len(leaves) and frontier_root(frontier) == merkle.root_hash(leaves)
    assert len(frontier) == bin(size).count("1")
