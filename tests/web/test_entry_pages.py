"""Data-entry pages: registering a product (screened, refused whole on a bad line) and capturing EPCIS.

Products, lots and events created here are invented test data on the seeded demo node. Hydrogen peroxide
(7722-84-1) and water (7732-18-5) are real substances named by their CAS numbers.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import SeededNode, csrf_of
from vigichem.errors import NotFound
from vigichem.ledger.inventory_tables import sites
from vigichem.ledger.masterdata import MasterData

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _registered(seeded: SeededNode, product_id: str) -> bool:
    try:
        MasterData(seeded.node.engine).product(product_id)
    except NotFound:
        return False
    return True


def _register(client: TestClient, lines: list[tuple[str, str]], **fields: str) -> Any:
    form: dict[str, Any] = {
        "name": "Invented pool product",
        "gtin": "",
        "net_value": "",
        "net_uom": "",
        "density": "",
        **fields,
        "substance": [line[0] for line in lines],
        "percent": [line[1] for line in lines],
        "csrf_token": csrf_of(client),
    }
    return client.post("/ui/products", data=form)


def test_a_compliance_officer_registers_a_screened_product_of_its_own(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["compliance"]
    listing = client.get("/ui/products")
    assert 'data-testid="register-product"' in listing.text
    assert 'data-testid="register-product"' not in clients["clerk"].get("/ui/products").text
    form = client.get("/ui/products/new")
    assert form.status_code == 200 and f'value="{seeded.shop}"' in form.text
    assert form.text.count('<option value="') - form.text.count('<option value="" ') >= 1
    answer = _register(
        client,
        [("7722-84-1", "35"), ("7732-18-5", "65"), ("", "")],
        id="web-invented-h2o2",
        organisation=seeded.shop,
        net_value="1",
        net_uom="LTR",
        density="1,13",
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/products/web-invented-h2o2"
    product = MasterData(seeded.node.engine).product("web-invented-h2o2")
    assert product.organisation == seeded.shop and product.controlled
    assert [c.cas for c in product.components] == ["7722-84-1", "7732-18-5"]
    page = client.get("/ui/products/web-invented-h2o2")
    assert page.status_code == 200 and "EU 2019/1148" in page.text
    again = _register(client, [("7732-18-5", "100")], id="web-invented-h2o2", organisation=seeded.shop)
    assert again.status_code == 409 and "already registered" in again.text
    assert [c.cas for c in MasterData(seeded.node.engine).product("web-invented-h2o2").components] == [
        "7722-84-1",
        "7732-18-5",
    ]


@pytest.mark.parametrize(
    ("lines", "status", "message"),
    [
        ([("7722-84-2", "30"), ("7732-18-5", "70")], 400, "check digit"),
        ([("7722-84-1", "thirty")], 400, "composition line 1: &#39;thirty&#39; is not a number"),
        ([("7722-84-1", "")], 400, "composition line 1: give the substance and its % w/w"),
        ([("7722-84-1", "80"), ("7732-18-5", "70")], 400, "above 100 %"),
        ([("7722-84-1", "130")], 400, "less than or equal to 100"),
    ],
)
def test_a_bad_composition_is_refused_with_its_message_and_nothing_is_stored(
    seeded: SeededNode,
    clients: dict[str | None, TestClient],
    lines: list[tuple[str, str]],
    status: int,
    message: str,
) -> None:
    client = clients["compliance"]
    answer = _register(client, lines, id="web-invented-bad", organisation=seeded.shop)
    assert answer.status_code == status and 'data-testid="product-error"' in answer.text
    assert message in answer.text
    assert f'value="{lines[0][0]}"' in answer.text  # the form comes back filled in for correction
    assert not _registered(seeded, "web-invented-bad")


def test_an_operator_registers_for_its_own_organisation_only(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    other = clients["other.compliance"]
    assert f'value="{seeded.shop}"' not in other.get("/ui/products/new").text
    answer = _register(other, [("7732-18-5", "100")], id="web-invented-foreign", organisation=seeded.shop)
    assert answer.status_code == 403 and "may not register products" in answer.text
    assert not _registered(seeded, "web-invented-foreign")
    bad_gtin = _register(
        clients["admin"], [("7732-18-5", "100")], id="web-invented-gtin", organisation=seeded.shop,
        gtin="4012345123457",
    )  # fmt: skip
    assert bad_gtin.status_code == 400 and "gtin" in bad_gtin.text.lower()
    assert not _registered(seeded, "web-invented-gtin")


# ---- capture ----------------------------------------------------------------------------------------------


def _locations(seeded: SeededNode) -> tuple[str, str]:
    """The shop's first site's location and a site of another operator."""
    with seeded.node.engine.connect() as connection:
        own = connection.scalar(
            select(sites.c.location_uri).where(sites.c.organisation_id == seeded.shop).order_by(sites.c.id)
        )
        other = connection.scalar(
            select(sites.c.location_uri).where(sites.c.organisation_id != seeded.shop).order_by(sites.c.id)
        )
    assert own is not None and other is not None
    return str(own), str(other)


def _event(location: str, epc_class: str, **overrides: Any) -> dict[str, Any]:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-03-02T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": location},
        "bizLocation": {"id": location},
        "quantityList": [{"epcClass": epc_class, "quantity": 2.0, "uom": "KGM"}],
    }
    event.update(overrides)
    return event


def _document(*events: dict[str, Any]) -> str:
    return json.dumps(
        {
            "@context": [CONTEXT],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-03-02T10:00:00Z",
            "epcisBody": {"eventList": list(events)},
        }
    )


def _invented_class() -> str:
    return f"urn:vigichem:class:web-invented:{uuid.uuid4().hex[:12]}"


def _log_size(seeded: SeededNode) -> int:
    size, _root = seeded.node.store.log_state()
    return size


def _paste(client: TestClient, document: str) -> Any:
    return client.post("/ui/capture", data={"document": document, "csrf_token": csrf_of(client)})


def test_a_captured_document_appears_in_the_events_page(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["clerk"]
    own, _other = _locations(seeded)
    assert client.get("/ui/capture").status_code == 200
    pasted_class = _invented_class()
    before = _log_size(seeded)
    answer = _paste(client, _document(_event(own, pasted_class)))
    assert answer.status_code == 200 and 'data-testid="capture-result"' in answer.text
    assert "1 new event(s) captured, 0 already in the ledger" in answer.text
    assert _log_size(seeded) == before + 1
    events = client.get("/ui/events", params={"epc_class": pasted_class})
    assert pasted_class in events.text and own in events.text
    duplicate = _paste(client, _document(_event(own, pasted_class)))
    assert "0 new event(s) captured, 1 already in the ledger" in duplicate.text
    uploaded_class = _invented_class()
    upload = client.post(
        "/ui/capture",
        data={"document": "", "csrf_token": csrf_of(client)},
        files={
            "document_file": ("invented.json", io.BytesIO(_document(_event(own, uploaded_class)).encode()))
        },
    )
    assert upload.status_code == 200 and "1 new event(s) captured" in upload.text
    assert uploaded_class in client.get("/ui/events", params={"epc_class": uploaded_class}).text
    assert _log_size(seeded) == before + 2


def test_a_schema_error_is_refused_with_its_pointer_and_nothing_is_stored(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["compliance"]
    own, _other = _locations(seeded)
    before = _log_size(seeded)
    good, bad = _event(own, _invented_class()), _event(own, _invented_class(), action="JUMP")
    answer = _paste(client, _document(good, bad))
    assert answer.status_code == 422 and 'data-testid="capture-errors"' in answer.text
    assert "/epcisBody/eventList/1/action" in answer.text and "Nothing was captured." in answer.text
    assert "JUMP" in answer.text  # the pasted document comes back for correction
    assert _log_size(seeded) == before
    malformed = _paste(client, '{"type": "EPCISDocument",')
    assert malformed.status_code == 400 and "malformed JSON at line 1" in malformed.text
    empty = _paste(client, "   ")
    assert empty.status_code == 400 and "paste an EPCIS 2.0 JSON document" in empty.text
    assert _log_size(seeded) == before


def test_an_operator_cannot_capture_at_another_operators_site(
    app: FastAPI, seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["clerk"]
    own, other = _locations(seeded)
    before = _log_size(seeded)
    document = _document(_event(own, _invented_class()), _event(other, _invented_class()))
    answer = _paste(client, document)
    assert answer.status_code == 403 and 'data-testid="capture-error"' in answer.text
    assert "/epcisBody/eventList/1/bizLocation" in answer.text and other in answer.text
    assert _log_size(seeded) == before
    assert clients["analyst"].get("/ui/capture").status_code == 403  # an authority does not capture
    refused = client.post("/ui/capture", data={"document": document})  # no CSRF token
    assert refused.status_code == 403 and _log_size(seeded) == before
