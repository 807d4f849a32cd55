"""``POST /decide`` remembers an operator's sites for a few seconds, yet accepts a site registered since.

Invented test data: the world of :mod:`tests.api.world` and one more invented site.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.world import World
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import MasterDataFile

NEW_SITE = {
    "id": "site-a2",
    "organisation": "op-a",
    "name": "Second shop of op-a (invented)",
    "location": "urn:epc:id:sgln:0614141.00102.0",
}


def test_a_site_registered_after_a_decision_is_accepted_at_once(
    world_client: TestClient, world: World
) -> None:
    headers = world.headers("clerk")
    sale = {"product": "h2o2-30", "quantity": 2, "site": "site-a"}
    assert world_client.post("/decide", json=sale, headers=headers).status_code == 200  # sites remembered
    refused = world_client.post("/decide", json={**sale, "site": "site-a2"}, headers=headers)
    assert refused.status_code == 404 and refused.json()["error"]["details"] == {"path": "site"}
    MasterData(world.node.engine).load(
        MasterDataFile.model_validate(
            {
                "organisations": [{"id": "op-a", "name": "Operator A (invented)", "country": "FR"}],
                "sites": [NEW_SITE],
            }
        )
    )
    for site in ("site-a2", NEW_SITE["location"]):
        answer = world_client.post("/decide", json={**sale, "site": site}, headers=headers)
        assert answer.status_code == 200, answer.text
    # Another operator's site stays refused, remembered or not.
    assert world_client.post("/decide", json={**sale, "site": "site-b"}, headers=headers).status_code == 404
