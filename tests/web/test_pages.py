"""Every ``/ui`` route × every role → the exact outcome, written out by hand; CSRF; the pages' content.

Roles are the demo accounts (see conftest): ``None`` is an anonymous visitor. An outcome is a status code, or
``LOGIN`` (a redirect to the login page), or a path (a redirect there). The test enumerates the app's routes
and fails when one is missing from the table, so a new page cannot go untested.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.web.conftest import ROLES, SeededNode, csrf_of, login
from vigichem.accounts import issue_token, list_users
from vigichem.api.app import create_app
from vigichem.cases import get_case
from vigichem.web import CONTENT_SECURITY_POLICY

LOGIN = "LOGIN"
WHO = (None, *ROLES)
#            anonymous  clerk      compliance  other.comp  analyst  auth.admin  node admin
_ALL_OK = (LOGIN, 200, 200, 200, 200, 200, 200)
_CASE_READ = (LOGIN, 403, 200, 404, 200, 200, 403)
_CASE_ACT = (LOGIN, 403, 303, 404, 303, 403, 403)
_REPORT = (LOGIN, 403, 200, 404, 200, 403, 403)

TABLE: dict[tuple[str, str], tuple[Any, ...]] = {
    ("GET", "/"): ("/ui/",) * 7,
    ("GET", "/ui/login"): (200, "/ui/pos", "/ui/", "/ui/", "/ui/", "/ui/", "/ui/screen"),
    ("POST", "/ui/login"): (403,) * 7,  # without the login form's token
    ("POST", "/ui/logout"): ("/ui/login",) * 7,
    ("POST", "/ui/language"): ("/ui/screen",) * 7,
    ("GET", "/ui/"): (LOGIN, "/ui/pos", 200, 200, 200, 200, "/ui/screen"),
    ("GET", "/ui/alerts"): (LOGIN, 403, 200, 200, 200, 200, 403),
    ("GET", "/ui/screen"): _ALL_OK,
    ("GET", "/ui/pos"): (LOGIN, 200, 200, 200, 403, 403, 403),
    ("POST", "/ui/pos"): (LOGIN, 200, 200, 200, 403, 403, 403),
    ("GET", "/ui/products"): _ALL_OK,
    ("GET", "/ui/products/{product_id}"): _ALL_OK,
    ("GET", "/ui/balance"): (LOGIN, 200, 200, 200, 200, 200, 403),
    ("GET", "/ui/events"): (LOGIN, 200, 200, 200, 200, 200, 403),
    ("GET", "/ui/trace"): (LOGIN, 200, 200, 200, 200, 200, 403),
    ("GET", "/ui/ledger"): _ALL_OK,
    ("POST", "/ui/ledger/verify"): (LOGIN, 403, 200, 200, 200, 200, 200),
    ("GET", "/ui/cases/{case_id}"): _CASE_READ,
    ("POST", "/ui/cases/{case_id}/assign"): _CASE_ACT,
    ("POST", "/ui/cases/{case_id}/comment"): _CASE_ACT,
    ("POST", "/ui/cases/{case_id}/transition"): (LOGIN, 403, 400, 404, 400, 403, 403),  # an unknown move
    ("GET", "/ui/cases/{case_id}/report"): _REPORT,
    ("GET", "/ui/cases/{case_id}/report.pdf"): _REPORT,
    ("GET", "/ui/admin/users"): (LOGIN, 403, 403, 403, 403, 200, 200),
    ("POST", "/ui/admin/users"): (LOGIN, 403, 403, 403, 403, 400, 400),  # a password too short
    ("POST", "/ui/admin/users/{user_id}"): (LOGIN, 403, 403, 403, 403, 400, 400),  # the clerk; too short
    ("GET", "/ui/tokens"): _ALL_OK,
    ("POST", "/ui/tokens"): _ALL_OK,  # issues a token scoped to screening
    ("POST", "/ui/tokens/{token_id}/revoke"): (LOGIN, 404, 404, 404, "/ui/tokens", 404, 404),  # analyst's
    ("GET", "/ui/products/new"): (LOGIN, 403, 200, 200, 403, 403, 200),
    ("POST", "/ui/products"): (LOGIN, 403, 400, 403, 403, 403, 400),  # the shop's product, a bad CAS
    ("GET", "/ui/capture"): (LOGIN, 200, 200, 200, 403, 403, 403),
    ("POST", "/ui/capture"): (LOGIN, 400, 400, 400, 403, 403, 403),  # malformed JSON
}

FORMS: dict[str, dict[str, str]] = {
    "/ui/login": {"username": "analyst", "password": "not the password", "next": "/ui/"},
    "/ui/language": {"lang": "en", "next": "/ui/screen"},
    "/ui/pos": {"product": "h2o2-30", "quantity": "1", "unit": "KGM", "customer_type": "private"},
    "/ui/cases/{case_id}/assign": {"assignee": "me"},
    "/ui/cases/{case_id}/comment": {"text": "authorisation matrix test comment (invented)"},
    "/ui/cases/{case_id}/transition": {"to": "no-such-status"},
    "/ui/admin/users": {
        "username": "table.invented",
        "role": "operator_clerk",
        "organisation": "{shop}",
        "password": "short",
    },
    "/ui/admin/users/{user_id}": {"action": "password", "password": "short"},
    "/ui/tokens": {"name": "authorisation matrix test token (invented)", "scopes": "screen"},
    "/ui/products": {
        "id": "table-invented-product",
        "name": "Invented product of the page table",
        "organisation": "{shop}",
        "substance": "7722-84-2",  # a wrong check digit (7722-84-1 is hydrogen peroxide)
        "percent": "30",
    },
    "/ui/capture": {"document": "{{not JSON"},
}


def _ui_routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app.routes):
        path = route.path_format or ""
        if path == "/" or path == "/ui" or path.startswith("/ui/"):
            found |= {(method, path) for method in route.methods or () if method != "HEAD"}
    return found


def test_the_table_covers_every_ui_route(app: FastAPI) -> None:
    routes = _ui_routes(app)
    assert routes - set(TABLE) == set(), "a /ui route has no row in TABLE"
    assert set(TABLE) - routes == set(), "TABLE names a route the app does not have"


def _check(answer: Any, expected: Any, where: str) -> None:
    if expected == LOGIN:
        assert answer.status_code == 303, where
        assert answer.headers["location"].startswith("/ui/login?next=/ui"), where
    elif isinstance(expected, str):
        assert (answer.status_code, answer.headers.get("location")) == (303, expected), where
    else:
        assert answer.status_code == expected, f"{where}: {answer.text[:300]}"
        if expected >= 400:
            assert "text/html" in answer.headers["content-type"], where
            assert 'data-testid="error-page"' in answer.text or expected in (400, 401, 403), where


@pytest.fixture(scope="module")
def ids(seeded: SeededNode) -> dict[str, int]:
    """The clerk's account (managed by both administrators) and an API token of the analyst's."""
    engine = seeded.node.engine
    clerk = next(user for user in list_users(engine) if user.username == "clerk")
    analyst = next(user for user in list_users(engine) if user.username == "analyst")
    token, _secret = issue_token(engine, analyst, "page table token (invented)", ["screen"])
    return {"user_id": clerk.id, "token_id": token.id}


@pytest.mark.parametrize(("method", "path"), sorted(TABLE))
def test_every_role_gets_the_expected_outcome(
    method: str,
    path: str,
    app: FastAPI,
    seeded: SeededNode,
    clients: dict[str | None, TestClient],
    ids: dict[str, int],
) -> None:
    concrete = path.format(product_id="h2o2-30", case_id=seeded.own_case, **ids)
    form = {name: value.format(shop=seeded.shop) for name, value in FORMS.get(path, {}).items()}
    for who, expected in zip(WHO, TABLE[(method, path)], strict=True):
        client = clients[who]
        if path == "/ui/logout" and who is not None:
            client = login(app, who, seeded.passwords[who])  # logging out must not end the shared session
        where = f"{method} {concrete} as {who or 'anonymous'}"
        if method == "GET":
            answer = client.get(concrete)
        else:
            headers = {"X-CSRF-Token": csrf_of(client)} if who is not None else {}
            answer = client.post(concrete, data=form, headers=headers)
        _check(answer, expected, where)


def test_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["compliance"]
    before = len(get_case(seeded.node.engine, seeded.own_case).audit)
    text = "CSRF test comment (invented)"
    refused = client.post(f"/ui/cases/{seeded.own_case}/comment", data={"text": text})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = client.post(f"/ui/cases/{seeded.own_case}/comment", data={"text": text, "csrf_token": "0" * 64})
    assert wrong.status_code == 403
    assert len(get_case(seeded.node.engine, seeded.own_case).audit) == before
    accepted = client.post(
        f"/ui/cases/{seeded.own_case}/comment", data={"text": text, "csrf_token": csrf_of(client)}
    )
    assert accepted.status_code == 303
    case = get_case(seeded.node.engine, seeded.own_case)
    assert case.comments[-1].new_value == text and case.comments[-1].actor == "compliance"


def test_another_tenants_case_is_not_found_and_the_authority_sees_it(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    assert clients["compliance"].get(f"/ui/cases/{seeded.other_case}").status_code == 404
    assert clients["analyst"].get(f"/ui/cases/{seeded.other_case}").status_code == 200
    assert clients["analyst"].get("/ui/cases/2147483647").status_code == 404
    assert clients["analyst"].get("/ui/cases/0").status_code == 400  # out of the id range


def test_pages_carry_a_same_origin_policy_and_the_login_rejects_a_wrong_password(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/ui/login")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY
    token = page.cookies.get("vigichem_login_csrf") or client.cookies.get("vigichem_login_csrf")
    assert token
    wrong = client.post(
        "/ui/login", data={"username": "analyst", "password": "wrong password!", "login_csrf": token}
    )
    assert wrong.status_code == 401 and 'data-testid="login-error"' in wrong.text
    assert "vigichem_session" not in client.cookies


def test_screening_shows_findings_the_structure_and_precise_errors(
    clients: dict[str | None, TestClient],
) -> None:
    client = clients["clerk"]
    page = client.get("/ui/screen", params={"q": "hydrogen peroxide 30%; water 70%", "jurisdiction": "EU"})
    assert page.status_code == 200
    assert "EU 2019/1148 Annex I" in page.text and "Regulation (EU) 2019/1148" in page.text
    assert (
        'data-testid="structure"' in page.text
        and "<svg" in page.text
        and "<script" not in page.text.split("<main")[1]
    )
    bad_cas = client.get("/ui/screen", params={"q": "7722-84-2"})
    assert bad_cas.status_code == 400 and "check digit" in bad_cas.text
    bad_smiles = client.get("/ui/screen", params={"q": "C1CC(", "jurisdiction": "EU"})
    assert bad_smiles.status_code == 400 and 'data-testid="screen-error"' in bad_smiles.text


def test_the_point_of_sale_decides_and_refuses_another_operators_site(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["clerk"]
    token = csrf_of(client)
    sale = {
        "product": "h2o2-35",
        "quantity": "1",
        "unit": "KGM",
        "customer_type": "private",
        "csrf_token": token,
    }
    decided = client.post("/ui/pos", data=sale)
    assert decided.status_code == 200 and 'data-testid="decision"' in decided.text
    assert "licence_required" in decided.text or "refuse" in decided.text
    foreign = client.post("/ui/pos", data={**sale, "site": "producer-fr-00001-s1"})
    assert foreign.status_code == 400 and "no site" in foreign.text
    bad = client.post("/ui/pos", data={**sale, "quantity": "lots"})
    assert bad.status_code == 400 and "not a number" in bad.text


def test_the_language_switch_turns_the_pages_french(app: FastAPI, seeded: SeededNode) -> None:
    client = login(app, "analyst", seeded.passwords["analyst"])
    answer = client.post(
        "/ui/language", data={"lang": "fr", "next": "/ui/alerts", "csrf_token": csrf_of(client)}
    )
    assert answer.status_code == 303 and client.cookies.get("vigichem_lang") == "fr"
    page = client.get("/ui/alerts")
    assert "File des alertes" in page.text and '<html lang="fr">' in page.text
    refused = client.post("/ui/language", data={"lang": "de", "csrf_token": csrf_of(client)})
    assert refused.status_code == 400
    client.post("/ui/language", data={"lang": "en", "csrf_token": csrf_of(client)})


def test_the_ledger_verifies_and_the_trace_draws_the_lot(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["analyst"]
    verified = client.post(
        "/ui/ledger/verify", headers={"X-CSRF-Token": csrf_of(client), "HX-Request": "true"}
    )
    assert 'data-testid="verify-ok"' in verified.text
    events = client.get("/ui/events", params={"biz_step": "commissioning"})
    link = events.text.split('href="/ui/trace?epcClass=', 1)[1].split('"', 1)[0]
    trace = client.get(f"/ui/trace?epcClass={link}")
    assert trace.status_code == 200 and 'data-testid="trace-graph"' in trace.text and "produced" in trace.text


def test_an_htmx_request_without_a_session_is_sent_to_the_login_page(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    answer = client.post(
        "/ui/ledger/verify", headers={"HX-Request": "true", "Referer": "http://testserver/ui/ledger"}
    )
    assert answer.status_code == 200 and answer.headers["HX-Redirect"] == "/ui/login?next=/ui/ledger"
    client.cookies.set("vigichem_session", "an-expired-or-forged-session-key")
    expired = client.get("/ui/alerts")
    assert expired.status_code == 303 and expired.headers["location"] == "/ui/login?next=/ui/alerts"
    assert 'vigichem_session=""' in expired.headers.get("set-cookie", "")  # the dead cookie is cleared


def test_an_unexpected_error_is_a_500_page_under_ui_and_the_envelope_elsewhere(seeded: SeededNode) -> None:
    app = create_app(seeded.settings, seeded.node)

    def boom() -> None:
        raise RuntimeError("invented failure for the test")

    app.add_api_route("/ui/boom", boom)
    app.add_api_route("/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get("/ui/boom")
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    assert "invented failure" not in page.text  # no internals leak
    api = client.get("/boom")
    assert api.status_code == 500 and api.json()["error"]["code"] == "internal_error"
