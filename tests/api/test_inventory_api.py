"""GET /balance (FastAPI TestClient) on the scripted invented chain of tests/ledger/factories.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer_of
from tests.ledger.conftest import database_url, node  # noqa: F401 (fixtures)
from tests.ledger.factories import PLANT_LOCATION, chain_csv, masterdata
from vigichem.accounts import Role
from vigichem.api import create_app
from vigichem.api.routers import inventory
from vigichem.ledger.csv_import import import_csv
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.node import Node
from vigichem.settings import Settings


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:  # noqa: F811 (the fixture imported above)
    MasterData(node.engine).load(masterdata())
    import_csv(node.engine, chain_csv())
    app = create_app(Settings(data_dir=node.data_dir), node=node)
    if not any(getattr(route, "path", None) == "/balance" for route in app.routes):
        app.include_router(inventory.router)  # until the app registers the inventory routes itself
    with TestClient(app, raise_server_exceptions=False) as test_client:
        # An analyst of the FR authority: the balance of every FR site (the invented chain's plant is one).
        test_client.headers.update(bearer_of(node, Role.AUTHORITY_ANALYST, organisation="authority-fr"))
        yield test_client


def test_balance_as_json(client: TestClient) -> None:
    response = client.get("/balance", params={"site": "plant", "asOf": "2026-03-01T00:00:00+00:00"})
    assert response.status_code == 200, response.text
    body = response.json()
    (lot,) = body["lots"]
    assert (lot["site"], lot["expected"], lot["counted"], lot["discrepancy"]) == (
        PLANT_LOCATION,
        540.0,
        540.0,
        -10.0,
    )
    assert {issue["kind"] for issue in body["transit"]} == {"not_received", "quantity_mismatch"}


def test_balance_errors_use_the_envelope(client: TestClient) -> None:
    unknown = client.get("/balance", params={"site": "nowhere"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    naive = client.get("/balance", params={"asOf": "2026-03-01T00:00:00"})
    assert naive.status_code in (400, 422) and "time-zone offset" in naive.json()["error"]["message"]
    assert client.get("/balance", params={"transitDays": -1}).status_code == 422
