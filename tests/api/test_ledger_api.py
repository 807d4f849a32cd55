"""The ledger API (FastAPI TestClient): capture, queries, checkpoints, proofs, and the error envelope."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import bearer_of
from tests.ledger.conftest import database_url, make_document, node, shipment_event  # noqa: F401 (fixtures)
from vigichem.api import create_app
from vigichem.api.app import get_node
from vigichem.errors import ProofError
from vigichem.ledger import merkle
from vigichem.ledger.checkpoints import signature_valid
from vigichem.ledger.models import Checkpoint
from vigichem.ledger.node import Node
from vigichem.settings import Settings

LOCATION = "urn:epc:id:sgln:0614141.00001.0"  # where every invented event of make_document happens


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:  # noqa: F811 (the fixture imported above)
    settings = Settings(data_dir=node.data_dir, max_document_bytes=200_000)
    app = create_app(settings, node=node)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        # An operator whose one site is where the invented events happen (it may capture and read them).
        test_client.headers.update(bearer_of(node, locations=(LOCATION,)))
        yield test_client


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _post(client: TestClient, document: dict[str, Any] | bytes) -> Any:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post("/capture", content=body, headers={"content-type": "application/json"})


def _assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error"} and payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]
    error: dict[str, Any] = payload["error"]
    return error


def test_capture_then_duplicate(client: TestClient) -> None:
    first = _post(client, make_document(3))
    assert first.status_code == 201
    body = first.json()
    assert len(body["new"]) == 3 and body["duplicates"] == [] and body["treeSize"] == 3
    again = _post(client, make_document(3))
    assert again.status_code == 200 and again.json()["new"] == [] and len(again.json()["duplicates"]) == 3


def test_events_query_returns_an_epcis_query_document(client: TestClient) -> None:
    _post(client, make_document(5))
    receipt = make_document(0)
    receipt["epcisBody"]["eventList"] = [shipment_event(99, biz_step="receiving")]
    _post(client, receipt)
    response = client.get("/events", params={"EQ_bizStep": "shipping", "eventType": "ObjectEvent"})
    assert response.status_code == 200
    document = response.json()
    assert document["type"] == "EPCISQueryDocument"
    found = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(found) == 5 and all(event["bizStep"] == "shipping" for event in found)
    receiving = client.get("/events", params={"EQ_bizStep": "urn:epcglobal:cbv:bizstep:receiving"}).json()
    assert len(receiving["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
    lot = client.get("/events", params={"MATCH_epcClass": "urn:epc:class:lgtin:0614141.107346.LOT3"}).json()
    assert [
        e["quantityList"][0]["epcClass"] for e in lot["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ] == ["urn:epc:class:lgtin:0614141.107346.LOT3"]


def test_events_paging(client: TestClient) -> None:
    _post(client, make_document(5))
    first = client.get("/events", params={"perPage": "2"})
    token = first.headers["GS1-Next-Page-Token"]
    assert 'rel="next"' in first.headers["Link"]
    second = client.get("/events", params={"perPage": "2", "nextPageToken": token}).json()
    ids_first = [e["eventID"] for e in first.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    ids_second = [e["eventID"] for e in second["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
    assert len(ids_first) == 2 and len(ids_second) == 2 and not set(ids_first) & set(ids_second)


def test_time_window_query(client: TestClient) -> None:
    _post(client, make_document(5))  # invented events at 00:00:00..00:00:04 +01:00
    response = client.get(
        "/events",
        params={"GE_eventTime": "2026-02-28T23:00:02Z", "LT_eventTime": "2026-03-01T00:00:04+01:00"},
    )
    assert len(response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2


def test_checkpoint_and_proofs_verify_with_the_public_verifier(client: TestClient, node: Node) -> None:  # noqa: F811
    ids = _post(client, make_document(6)).json()["new"]
    early = client.get("/checkpoint").json()["checkpoint"]
    ids += _post(client, make_document(5, start=6)).json()["new"]
    head = client.get("/checkpoint").json()
    checkpoint = Checkpoint(
        tree_size=head["checkpoint"]["treeSize"],
        root=_b64(head["checkpoint"]["root"]),
        time=node.store.latest_checkpoint().time,  # type: ignore[union-attr]
        signature=_b64(head["checkpoint"]["signature"]),
        key_id=head["checkpoint"]["keyId"],
    )
    assert signature_valid(checkpoint, _b64(head["node"]["publicKey"]))
    proof = client.get("/proof/inclusion", params={"hashId": ids[4], "treeSize": 11}).json()
    merkle.verify_inclusion(
        merkle.event_leaf_hash(ids[4]),
        proof["leafIndex"],
        proof["treeSize"],
        [_b64(p) for p in proof["proof"]],
        checkpoint.root,
    )
    consistency = client.get("/proof/consistency", params={"size1": early["treeSize"], "size2": 11}).json()
    merkle.verify_consistency(
        early["treeSize"], 11, [_b64(p) for p in consistency["proof"]], _b64(early["root"]), checkpoint.root
    )
    with pytest.raises(ProofError):  # a proof for another leaf does not hold
        merkle.verify_inclusion(
            merkle.event_leaf_hash(ids[5]), 4, 11, [_b64(p) for p in proof["proof"]], checkpoint.root
        )


def test_error_envelopes(client: TestClient) -> None:
    _assert_envelope(_post(client, b'{"type": "EPCISDocument", '), 400, "invalid_document")
    invalid = make_document(3)
    invalid["epcisBody"]["eventList"][1]["quantityList"][0]["quantity"] = -1
    error = _assert_envelope(_post(client, invalid), 422, "invalid_document")
    assert any(e["path"].startswith("/epcisBody/eventList/1") for e in error["details"]["errors"])
    _assert_envelope(_post(client, make_document(2000)), 413, "input_too_large")
    _assert_envelope(client.get("/events", params={"EQ_colour": "red"}), 400, "invalid_input")
    _assert_envelope(client.get("/proof/inclusion", params={"hashId": "ni:///nothing"}), 404, "not_found")
    _assert_envelope(client.get("/proof/consistency", params={"size1": "abc"}), 422, "invalid_input")
    _assert_envelope(client.get("/proof/consistency", params={"size1": "5"}), 400, "invalid_input")
    _assert_envelope(client.get("/no/such/route"), 404, "not_found")
    assert client.get("/events").json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_unexpected_errors_do_not_leak(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)

    def broken() -> Node:
        raise RuntimeError("secret internal detail")

    app.dependency_overrides[get_node] = broken
    response = client.get("/events")
    error = _assert_envelope(response, 500, "internal_error")
    assert "secret" not in response.text and error["message"] == "internal server error"
