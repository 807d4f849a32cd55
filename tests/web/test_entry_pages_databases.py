"""The accounts, token, product and capture pages on SQLite and PostgreSQL (the ledger's parametrised node).

Everything here is invented test data (tests.detect.factories: shops, sites, products; accounts below).
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.detect.factories import SHOP_A, at, document, masterdata, movement
from tests.ledger.conftest import database_url, node  # noqa: F401  (fixtures)
from tests.web.conftest import csrf_of, login
from vigichem.accounts import create_user, list_users
from vigichem.api.app import create_app
from vigichem.errors import NotFound
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation, Site
from vigichem.ledger.node import Node
from vigichem.settings import Settings

PASSWORD = "invented-password-2"
OTHER_SITE = "urn:epc:id:sgln:0614141.00998.0"  # invented


@pytest.fixture
def clients(node: Node) -> dict[str, TestClient]:  # noqa: F811
    """Invented shops (FR), another shop, an FR authority and a BE operator; one account per role used."""
    data = MasterData(node.engine)
    data.load(masterdata())
    data.register_organisation(
        Organisation(id="authority-fr", name="Authority (invented)", country="FR", kind="authority")
    )
    data.register_organisation(Organisation(id="other-shop", name="Other shop (invented)", country="FR"))
    data.register_site(Site(id="other-site", organisation="other-shop", name="Other", location=OTHER_SITE))
    data.register_organisation(Organisation(id="be-shop", name="Belgian shop (invented)", country="BE"))
    for username, role, organisation in (
        ("compliance", "operator_compliance", "shops"),
        ("authadmin", "authority_admin", "authority-fr"),
    ):
        create_user(node.engine, username, PASSWORD, role, organisation=organisation)
    app = create_app(Settings(data_dir=node.data_dir, secret_key="invented-test-secret-" * 2), node)
    made = {name: login(app, name, PASSWORD) for name in ("compliance", "authadmin")}
    made["api"] = TestClient(app)
    return made


def _log_size(node: Node) -> int:  # noqa: F811
    size, _root = node.store.log_state()
    return size


def test_capture_product_token_and_account_pages(node: Node, clients: dict[str, TestClient]) -> None:  # noqa: F811
    client = clients["compliance"]
    # Capture: own site accepted and listed; another operator's site and a schema error store nothing.
    ok = json.dumps(document(movement(at(0), "receiving", SHOP_A, 5.0)))
    answer = client.post("/ui/capture", data={"document": ok, "csrf_token": csrf_of(client)})
    assert answer.status_code == 200 and "1 new event(s) captured" in answer.text
    assert SHOP_A in client.get("/ui/events").text
    size = _log_size(node)
    foreign = json.dumps(document(movement(at(1), "receiving", OTHER_SITE, 5.0)))
    refused = client.post("/ui/capture", data={"document": foreign, "csrf_token": csrf_of(client)})
    assert refused.status_code == 403 and "/epcisBody/eventList/0/bizLocation" in refused.text
    broken = document(movement(at(2), "receiving", SHOP_A, 5.0))
    broken["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    invalid = client.post("/ui/capture", data={"document": json.dumps(broken), "csrf_token": csrf_of(client)})
    assert invalid.status_code == 422 and "/epcisBody/eventList/0/eventTime" in invalid.text
    assert _log_size(node) == size
    # Products: registered and screened; a bad CAS stores nothing.
    form = {"name": "Invented", "organisation": "shops", "csrf_token": csrf_of(client)}
    good = client.post(
        "/ui/products", data={**form, "id": "inv-water", "substance": "7732-18-5", "percent": "100"}
    )
    assert good.status_code == 303 and MasterData(node.engine).product("inv-water").components
    bad = client.post(
        "/ui/products", data={**form, "id": "inv-bad", "substance": "7732-18-6", "percent": "100"}
    )
    assert bad.status_code == 400 and "check digit" in bad.text
    with pytest.raises(NotFound):
        MasterData(node.engine).product("inv-bad")
    # Tokens: the page's token reads the API until it is revoked.
    issued = client.post(
        "/ui/tokens", data={"name": "invented", "scopes": ["products:read"], "csrf_token": csrf_of(client)}
    )
    secret = re.search(r'data-testid="secret">(vgc_[A-Za-z0-9_-]+)<', issued.text)
    assert secret is not None
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert clients["api"].get("/products/inv-water", headers=bearer).status_code == 200
    token_id = re.findall(r'data-token="(\d+)"', issued.text)[0]
    client.post(f"/ui/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(client)})
    assert clients["api"].get("/products/inv-water", headers=bearer).status_code == 401
    # Accounts: the authority administrator creates in its country only.
    admin = clients["authadmin"]
    new = {"role": "operator_clerk", "password": PASSWORD, "csrf_token": csrf_of(admin)}
    assert (
        admin.post(
            "/ui/admin/users", data={**new, "username": "inv.fr", "organisation": "other-shop"}
        ).status_code
        == 303
    )
    abroad = admin.post("/ui/admin/users", data={**new, "username": "inv.be", "organisation": "be-shop"})
    assert abroad.status_code == 403
    assert {user.username for user in list_users(node.engine)} == {"compliance", "authadmin", "inv.fr"}
