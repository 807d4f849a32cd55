"""Master data, screening, ledger, balance, decisions, alerts, cases, reports and personal data via the API.

Happy paths, error paths (the envelope) and tenancy on the invented world of :mod:`tests.api.world`: operator
A sees only its own data, an authority sees its own country's operators, products are shared by everyone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.world import World, open_case, sale_event
from tests.api.world import document as epcis_document
from vigichem.ledger.vault import Vault


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def _events(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = client.get("/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return found


def _ids(page: dict[str, Any], key: str = "id") -> set[str]:
    return {item[key] for item in page["items"]}


# -- master data and screening -------------------------------------------------------------------------------


def test_organisations_and_sites_follow_tenancy(world_client: TestClient, world: World) -> None:
    def seen(actor: str, path: str) -> set[str]:
        return _ids(world_client.get(path, headers=world.headers(actor)).json())

    assert seen("clerk", "/organisations") == {"op-a"}
    assert seen("analyst", "/organisations") == {"op-a", "op-b", "auth-fr"}
    assert seen("analyst_de", "/organisations") == {"op-c", "auth-de"}
    assert seen("nodeadmin", "/organisations") >= {"op-a", "op-b", "op-c", "auth-fr", "auth-de"}
    assert seen("clerk", "/sites") == {"site-a"}
    assert seen("analyst", "/sites") == {"site-a", "site-b"}
    assert seen("analyst_de", "/sites") == {"site-c"}


def test_products_are_shared_searchable_and_paged(world_client: TestClient, world: World) -> None:
    for actor in ("clerk", "analyst_de", "nodeadmin"):
        found = world_client.get("/products", params={"q": "PEROXIDE"}, headers=world.headers(actor)).json()
        assert _ids(found) == {"h2o2-30"}
    product = world_client.get("/products/h2o2-30", headers=world.headers("clerk")).json()
    assert [c["cas"] for c in product["components"]] == ["7722-84-1", "7732-18-5"]
    assert any(f["list"].startswith("EU 2019/1148") for f in product["components"][0]["findings"])
    _error(world_client.get("/products/nothing-here", headers=world.headers("clerk")), 404, "not_found")
    literal = world_client.get("/products", params={"q": "30_%"}, headers=world.headers("clerk")).json()
    assert literal["items"] == []  # LIKE wildcards are searched as characters


def test_pagination(world_client: TestClient, world: World) -> None:
    headers = world.headers("analyst")
    first = world_client.get("/organisations", params={"limit": 2}, headers=headers).json()
    assert len(first["items"]) == 2 and first["page"] == {
        "limit": 2,
        "offset": 0,
        "total": 3,
        "nextOffset": 2,
    }
    last = world_client.get("/organisations", params={"limit": 2, "offset": 2}, headers=headers).json()
    assert len(last["items"]) == 1 and last["page"]["nextOffset"] is None
    assert not _ids(first) & _ids(last)
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        _error(world_client.get("/organisations", params=params, headers=headers), 422, "invalid_input")


def test_register_products(world_client: TestClient, world: World) -> None:
    body = {
        "id": "bleach-a",
        "name": "Bleach (invented)",
        "composition": [{"substance": "7732-18-5", "percent": 95}],
    }
    made = world_client.post("/products", json=body, headers=world.headers("compliance"))
    assert made.status_code == 201 and made.json()["organisation"] == "op-a"  # defaulted to its own
    taken = world_client.post(
        "/products", json={**body, "id": "h2o2-30"}, headers=world.headers("compliance")
    )
    assert "another organisation" in _error(taken, 403, "forbidden")["message"]
    foreign = world_client.post(
        "/products", json={**body, "organisation": "op-b"}, headers=world.headers("compliance")
    )
    _error(foreign, 403, "forbidden")
    unknown = {
        "id": "mystery",
        "name": "Mystery",
        "composition": [{"substance": "no such chemical at all", "percent": 5}],
    }
    error = _error(world_client.post("/products", json=unknown, headers=world.headers("nodeadmin")), 400)
    assert error["details"]["errors"][0]["path"] == "products[0].composition[0].substance"
    _error(
        world_client.post(
            "/products", json={"id": "x", "name": "x", "colour": "red"}, headers=world.headers("nodeadmin")
        ),
        422,
        "invalid_input",
    )


def test_screen(world_client: TestClient, world: World) -> None:
    headers = world.headers("clerk")
    result = world_client.post(
        "/screen", json={"query": "7722-84-1", "jurisdiction": "EU"}, headers=headers
    ).json()
    assert result["controlled"] and result["findings"][0]["list"].startswith("EU 2019/1148")
    assert result["identity"]["cas"] == "7722-84-1"
    bad_cas = _error(
        world_client.post("/screen", json={"query": "7722-84-2"}, headers=headers), 400, "invalid_cas"
    )
    assert "check digit" in bad_cas["message"]
    _error(world_client.post("/screen", json={"query": "C1CC(", "jurisdiction": "EU"}, headers=headers), 400)
    _error(
        world_client.post("/screen", json={"query": "7722-84-1", "jurisdiction": "XX"}, headers=headers),
        400,
        "unknown_jurisdiction",
    )
    _error(world_client.post("/screen", json={"query": ""}, headers=headers), 422, "invalid_input")
    lists = world_client.get("/lists", params={"limit": 1}, headers=headers).json()
    assert len(lists["items"]) == 1 and lists["page"]["total"] > 1 and lists["items"][0]["source"]
    jurisdictions = world_client.get("/jurisdictions", params={"limit": 500}, headers=headers).json()
    assert "EU" in _ids(jurisdictions, "code")


# -- ledger --------------------------------------------------------------------------------------------------


def test_events_follow_tenancy(world_client: TestClient, world: World) -> None:
    a, b, c = (world.tenants[key].event for key in "ABC")
    assert {e["eventID"] for e in _events(world_client, world.headers("clerk"))} >= {a}
    assert not {e["eventID"] for e in _events(world_client, world.headers("clerk"))} & {b, c}
    authority = {e["eventID"] for e in _events(world_client, world.headers("analyst"))}
    assert {a, b} <= authority and c not in authority
    one = world_client.get(f"/events/{quote(a, safe='')}", headers=world.headers("clerk")).json()
    assert one["eventID"] == a and one["@context"]
    _error(world_client.get(f"/events/{quote(b, safe='')}", headers=world.headers("clerk")), 404, "not_found")


def test_capture_at_another_site_stores_nothing(world_client: TestClient, world: World) -> None:
    own, other = world.tenants["A"], world.tenants["B"]
    before = world.node.store.event_count()
    mixed = epcis_document(sale_event(own.location, own.party), sale_event(other.location, other.party))
    error = _error(
        world_client.post("/capture", json=mixed, headers=world.headers("clerk")), 403, "forbidden"
    )
    assert error["details"]["pointer"] == "/epcisBody/eventList/1/bizLocation"
    assert world.node.store.event_count() == before
    accepted = world_client.post(
        "/capture", json=epcis_document(sale_event(own.location, own.party)), headers=world.headers("clerk")
    )
    assert accepted.status_code == 201 and world.node.store.event_count() == before + 1
    _error(
        world_client.post("/capture", content=b"{not json", headers=world.headers("clerk")),
        400,
        "invalid_document",
    )
    odd = epcis_document({**sale_event(own.location, own.party), "bizLocation": {"id": [own.location]}})
    assert _error(world_client.post("/capture", json=odd, headers=world.headers("clerk")), 403)["details"][
        "pointer"
    ]


def test_ledger_head_proofs_and_verify(world_client: TestClient, world: World) -> None:
    head = world_client.get("/checkpoint", headers=world.headers("clerk")).json()
    assert head["checkpoint"]["treeSize"] >= 3 and head["node"]["publicKey"]
    event = world.tenants["C"].event  # hashes only: any ledger reader may prove any event
    proof = world_client.get(
        "/proof/inclusion", params={"hashId": event}, headers=world.headers("clerk")
    ).json()
    assert proof["hashId"] == event
    report = world_client.post("/ledger/verify", headers=world.headers("nodeadmin")).json()
    assert report["ok"] is True and report["discrepancy"] is None


def test_balance_is_confined_to_the_callers_sites(world_client: TestClient, world: World) -> None:
    def sites_in(actor: str, **params: str) -> set[str]:
        response = world_client.get("/balance", params=params, headers=world.headers(actor))
        assert response.status_code == 200, response.text
        return {lot["site"] for lot in response.json()["lots"]}

    a, b, c = (world.tenants[key].location for key in "ABC")
    assert sites_in("clerk") == {a}
    assert sites_in("analyst") == {a, b}
    assert sites_in("analyst_de") == {c}
    assert sites_in("analyst", site="site-b") == {b}
    for site in ("site-b", b, "nowhere"):
        _error(
            world_client.get("/balance", params={"site": site}, headers=world.headers("clerk")),
            404,
            "not_found",
        )
    _error(
        world_client.get("/balance", params={"asOf": "yesterday"}, headers=world.headers("clerk")),
        400,
        "invalid_input",
    )


def test_decide_for_an_operator_needs_its_own_site(world_client: TestClient, world: World) -> None:
    sale = {"product": "h2o2-30", "quantity": 2, "stated_use": "pool"}
    headers = world.headers("clerk")
    missing = _error(world_client.post("/decide", json=sale, headers=headers), 400, "invalid_input")
    assert "site" in missing["message"]
    by_id = world_client.post("/decide", json={**sale, "site": "site-a"}, headers=headers)
    by_location = world_client.post(
        "/decide", json={**sale, "site": world.tenants["A"].location}, headers=headers
    )
    assert by_id.status_code == by_location.status_code == 200
    assert by_id.json()["outcome"] == by_location.json()["outcome"] == "licence_required"
    _error(world_client.post("/decide", json={**sale, "site": "site-b"}, headers=headers), 404, "not_found")


def test_detect_run_counts(world_client: TestClient, world: World) -> None:
    ran = world_client.post("/detect/run", json={"since": "2026-01-01"}, headers=world.headers("analyst"))
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["eventsSeen"] >= 3 and body["newAlerts"] + body["duplicateAlerts"] == body["alerts"]
    again = world_client.post(
        "/detect/run", json={"since": "2026-01-01"}, headers=world.headers("analyst")
    ).json()
    assert again["newAlerts"] == 0 and again["casesOpened"] == 0  # never recorded twice
    _error(
        world_client.post("/detect/run", json={"since": "soon"}, headers=world.headers("analyst")),
        400,
        "invalid_input",
    )


# -- alerts, cases, reports, personal data -------------------------------------------------------------------


def test_alert_queue_filters_and_tenancy(world_client: TestClient, world: World) -> None:
    cases = {key: world.tenants[key].case for key in "ABC"}

    def queue(actor: str, **params: Any) -> set[int]:
        response = world_client.get("/alerts", params={"limit": 500, **params}, headers=world.headers(actor))
        assert response.status_code == 200, response.text
        return {item["case"]["id"] for item in response.json()["items"]}

    assert cases["A"] in queue("compliance") and not queue("compliance") & {cases["B"], cases["C"]}
    assert {cases["A"], cases["B"]} <= queue("analyst") and cases["C"] not in queue("analyst")
    assert cases["A"] in queue("compliance", severity="high", typology="split_purchase", rule="invented_rule")
    assert cases["A"] not in queue("compliance", severity="low")
    _error(
        world_client.get("/alerts", params={"severity": "apocalyptic"}, headers=world.headers("analyst")),
        400,
        "invalid_input",
    )
    _error(
        world_client.get("/alerts", params={"status": "lost"}, headers=world.headers("analyst")),
        422,
        "invalid_input",
    )


def test_case_list_detail_and_clock(world_client: TestClient, world: World) -> None:
    headers = world.headers("compliance")
    listed = world_client.get("/cases", params={"limit": 500}, headers=headers).json()
    ids = _ids(listed)
    assert world.tenants["A"].case in ids and world.tenants["B"].case not in ids
    assert listed["page"]["total"] == len(listed["items"])
    assert "audit" not in listed["items"][0] and "deadline" in listed["items"][0]
    case = world_client.get(f"/cases/{world.tenants['A'].case}", headers=headers).json()
    assert case["deadline"] and case["overdue"] is False and case["evidence"] == [world.tenants["A"].event]
    # The invented alerts were detected just now: none is overdue yet.
    assert world.tenants["A"].case not in _ids(
        world_client.get("/cases", params={"overdue": True}, headers=headers).json()
    )
    assert world.tenants["A"].case in _ids(
        world_client.get("/cases", params={"overdue": False, "limit": 500}, headers=headers).json()
    )
    _error(world_client.get("/cases/999999", headers=headers), 404, "not_found")
    _error(world_client.get("/cases/0", headers=headers), 422, "invalid_input")


def test_case_actions_are_audited_under_the_username(world_client: TestClient, world: World) -> None:
    tenant = world.tenants["A"]
    case_id = open_case(world.node, (tenant.event,))
    headers = world.headers("compliance")
    assigned = world_client.post(
        f"/cases/{case_id}/assign", json={"assignee": "compliance-a"}, headers=headers
    ).json()
    assert assigned["assignee"] == "compliance-a"
    commented = world_client.post(
        f"/cases/{case_id}/comment", json={"text": "checked the till (invented)"}, headers=headers
    ).json()
    assert commented["comments"][-1] == {**commented["comments"][-1], "author": "compliance-a"}
    illegal = world_client.post(f"/cases/{case_id}/transition", json={"to": "reported"}, headers=headers)
    assert "allowed" in _error(illegal, 400, "invalid_input")["message"]
    no_reason = world_client.post(f"/cases/{case_id}/transition", json={"to": "closed"}, headers=headers)
    assert "resolution" in _error(no_reason, 400, "invalid_input")["message"]
    moved = world_client.post(f"/cases/{case_id}/transition", json={"to": "triage"}, headers=headers).json()
    assert moved["status"] == "triage"
    foreign = world_client.post(
        f"/cases/{case_id}/evidence", json={"hashIds": [world.tenants["B"].event]}, headers=headers
    )
    _error(foreign, 404, "not_found")
    audit = world_client.get(f"/cases/{case_id}/audit", params={"limit": 500}, headers=headers).json()
    actions = [(entry["action"], entry["actor"]) for entry in audit["items"]]
    assert ("assign", "compliance-a") in actions and ("transition", "compliance-a") in actions
    assert ("add_evidence", "compliance-a") not in actions  # the refused link left no trace
    _error(
        world_client.post(f"/cases/{case_id}/assign", json={"assignee": ""}, headers=headers),
        422,
        "invalid_input",
    )


def test_report_reads_the_vault_as_the_caller(world_client: TestClient, world: World) -> None:
    tenant = world.tenants["A"]
    report = world_client.get(f"/cases/{tenant.case}/report", headers=world.headers("compliance"))
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["case"]["id"] == tenant.case and body["reporter"]["name"] == "compliance-a"
    log = Vault(world.node.engine).access_log(tenant.party)
    assert any(entry.actor == "compliance-a" and f"case {tenant.case}" in entry.purpose for entry in log)
    pdf = world_client.get(
        f"/cases/{tenant.case}/report.pdf", params={"lang": "fr"}, headers=world.headers("analyst")
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;") and pdf.content.startswith(b"%PDF")
    _error(
        world_client.get(
            f"/cases/{tenant.case}/report.pdf", params={"lang": "de"}, headers=world.headers("analyst")
        ),
        422,
        "invalid_input",
    )


def test_personal_data_reads_are_logged(world_client: TestClient, world: World) -> None:
    tenant = world.tenants["A"]
    headers = world.headers("analyst")
    read = world_client.get(
        f"/parties/{tenant.party}", params={"purpose": "checking a sale"}, headers=headers
    )
    assert read.status_code == 200 and read.json()["personalData"]["full_name"] == "Buyer A (invented)"
    log = Vault(world.node.engine).access_log(tenant.party)
    assert any(entry.actor == "analyst-fr" and entry.purpose == "checking a sale" for entry in log)
    _error(world_client.get(f"/parties/{tenant.party}", headers=headers), 422, "invalid_input")
    other = world.tenants["C"].party
    _error(
        world_client.get(f"/parties/{other}", params={"purpose": "curiosity"}, headers=headers),
        404,
        "not_found",
    )
    assert not any(entry.actor == "analyst-fr" for entry in Vault(world.node.engine).access_log(other))


@pytest.mark.parametrize("path", ["/cases", "/alerts", "/events", "/balance", "/parties/x?purpose=xyz"])
def test_node_admin_sees_no_business_data(world_client: TestClient, world: World, path: str) -> None:
    _error(world_client.get(path, headers=world.headers("nodeadmin")), 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "url", "body", "code", "fragment"),
    [
        ("GET", "/events?nextPageToken=99999999999999999999999", None, "invalid_input", "nextPageToken"),
        ("GET", "/balance?asOf=0001-01-01T00:00:00%2B14:00", None, "invalid_input", "out of range"),
        ("POST", "/detect/run", {"since": "0001-01-01"}, "invalid_input", "out of range"),
        ("POST", "/detect/run", {"jurisdiction": "ZZ"}, "unknown_jurisdiction", "ZZ"),
    ],
)
def test_extreme_values_are_refused_not_crashed(
    world_client: TestClient, world: World, method: str, url: str, body: Any, code: str, fragment: str
) -> None:
    response = world_client.request(method, url, json=body, headers=world.headers("analyst"))
    assert fragment in _error(response, 400, code)["message"]
