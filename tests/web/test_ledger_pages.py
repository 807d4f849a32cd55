"""The ledger pages on both databases: the Verify button names a tampered event; an operator's trace is cut
to its own sites. Everything here is invented test data (tests.detect.factories: shops, parties, quantities).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.detect.factories import DEPOT, SHOP_A, at, document, masterdata, movement, sale
from tests.ledger.conftest import database_url, node  # noqa: F401  (fixtures)
from tests.web.conftest import csrf_of, login
from vigichem.accounts import create_user
from vigichem.api.app import create_app
from vigichem.ledger.db import events
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation, Site
from vigichem.ledger.node import Node
from vigichem.ledger.service import capture
from vigichem.settings import Settings

PASSWORD = "invented-password-1"
LOT = "urn:vigichem:class:h2o2-30:L1"
OTHER_SITE = "urn:epc:id:sgln:0614141.00999.0"  # invented


@pytest.fixture
def served(node: Node) -> tuple[Node, dict[str, TestClient], list[str]]:  # noqa: F811
    """A node with an invented lot's journey, an authority analyst and a shop clerk, logged in."""
    data = MasterData(node.engine)
    data.load(masterdata())
    data.register_organisation(
        Organisation(id="authority-fr", name="Authority (invented)", country="FR", kind="authority")
    )
    create_user(node.engine, "analyst", PASSWORD, "authority_analyst", organisation="authority-fr")
    create_user(node.engine, "clerk", PASSWORD, "operator_clerk", organisation="shops")
    data.register_organisation(Organisation(id="other-shop", name="Other shop (invented)", country="FR"))
    data.register_site(
        Site(id="other-site", organisation="other-shop", name="Other site", location=OTHER_SITE)
    )
    create_user(node.engine, "other", PASSWORD, "operator_clerk", organisation="other-shop")
    hash_ids = []
    for event in (
        movement(at(0), "commissioning", DEPOT, 100.0),
        movement(at(1), "shipping", DEPOT, 40.0, to=SHOP_A),
        movement(at(1.5), "receiving", SHOP_A, 40.0),
        sale(at(2), "pty-invented-buyer", 2.0),
    ):
        hash_ids += capture(node.store, document(event), signer=node.signer).new
    app = create_app(Settings(data_dir=node.data_dir, secret_key="invented-test-secret-" * 2), node)
    clients = {name: login(app, name, PASSWORD) for name in ("analyst", "clerk", "other")}
    return node, clients, hash_ids


def test_verify_is_ok_then_names_the_tampered_event(
    served: tuple[Node, dict[str, TestClient], list[str]],
) -> None:
    ledger_node, clients, hash_ids = served
    client = clients["analyst"]
    headers = {"X-CSRF-Token": csrf_of(client), "HX-Request": "true"}
    page = client.get("/ui/ledger")
    assert (
        page.status_code == 200
        and 'data-testid="checkpoint"' in page.text
        and 'data-testid="verify"' in page.text
    )
    assert 'data-testid="verify-ok"' in client.post("/ui/ledger/verify", headers=headers).text
    with ledger_node.engine.begin() as connection:
        stored = json.loads(
            connection.execute(select(events.c.event_json).where(events.c.seq == 1)).scalar_one()
        )
        stored["quantityList"][0]["quantity"] = 4.0  # 40 kg shipped, 4 kg on record
        connection.execute(update(events).where(events.c.seq == 1).values(event_json=json.dumps(stored)))
    failed = client.post("/ui/ledger/verify", headers=headers)
    assert failed.status_code == 200 and 'data-testid="verify-failed"' in failed.text
    assert hash_ids[1] in failed.text and "An event was modified." in failed.text
    assert (
        clients["clerk"]
        .post("/ui/ledger/verify", headers={"X-CSRF-Token": csrf_of(clients["clerk"])})
        .status_code
        == 403
    )


def test_the_trace_page_shows_each_principal_its_part(
    served: tuple[Node, dict[str, TestClient], list[str]],
) -> None:
    _node, clients, hash_ids = served
    analyst = clients["analyst"].get("/ui/trace", params={"epcClass": LOT})
    assert analyst.status_code == 200 and all(hash_id in analyst.text for hash_id in hash_ids)
    clerk = clients["clerk"].get(
        "/ui/trace", params={"epcClass": LOT}
    )  # the shops organisation owns all three sites
    assert clerk.status_code == 200 and all(hash_id in clerk.text for hash_id in hash_ids)
    unknown = clients["analyst"].get("/ui/trace", params={"product": "h2o2-30"})
    assert unknown.status_code == 404  # the invented product has no GTIN to name a lot by
