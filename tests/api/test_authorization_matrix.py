"""The authorisation matrix: every API route × every role × own and other tenant, with the exact outcome.

The expected outcomes are written out by hand below (not derived from ``ROLE_PERMISSIONS``), so that a wrong
policy fails here. The test enumerates the app's routes and fails when one has no row (``/ui…``,
``/static…`` and any route served by :mod:`vigichem.web` belong to the web interface's own tests; FastAPI's
documentation routes are public).

Actors (see :mod:`tests.api.world`, invented data): ``clerk`` and ``compliance`` of operator A (FR),
``analyst`` and ``authadmin`` of the FR authority, ``nodeadmin``, and ``analyst_de`` of the DE authority.
Their own tenant is A (for ``analyst_de``: C, in DE); the other tenant is B for the operator roles (another
FR operator) and C for the FR authority and the node administrator (DE), A for ``analyst_de``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.api.world import PASSWORD, Tenant, World, open_case, sale_event
from tests.api.world import document as epcis_document
from vigichem.accounts import get_user, issue_token

ACTOR_ORDER = ("clerk", "compliance", "analyst", "authadmin", "nodeadmin", "analyst_de")
OWN = {"clerk": "A", "compliance": "A", "analyst": "A", "authadmin": "A", "nodeadmin": "A", "analyst_de": "C"}
OTHER = {
    "clerk": "B",
    "compliance": "B",
    "analyst": "C",
    "authadmin": "C",
    "nodeadmin": "C",
    "analyst_de": "A",
}
TENANT_USER = {"A": "spare_a", "B": "clerk_b", "C": "spare_c"}  # an account of each tenant, to act upon
PUBLIC = {("GET", "/health"), ("POST", "/auth/login")}
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
_unique = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """One request."""

    method: str
    url: str
    body: Any = None


Build = Callable[[World, str, Tenant], Call]


def _get(url: str) -> Build:
    return lambda _world, _actor, _tenant: Call("GET", url)


def _delete_token(world: World, actor: str, tenant: Tenant) -> Call:
    # Own tenant: the actor's own token; other tenant: a token of an account of that tenant.
    owner = actor if tenant.organisation == _tenant_of(world, OWN[actor]).organisation else None
    account = owner or TENANT_USER[_key_of(world, tenant)]
    user = get_user(world.node.engine, world.user_ids[account])
    token, _secret = issue_token(world.node.engine, user, f"to revoke {next(_unique)}")
    return Call("DELETE", f"/tokens/{token.id}")


def _tenant_of(world: World, key: str) -> Tenant:
    return world.tenants[key]


def _key_of(world: World, tenant: Tenant) -> str:
    return next(key for key, value in world.tenants.items() if value is tenant)


def _new_user(world: World, actor: str, tenant: Tenant) -> Call:
    body = {
        "username": f"made-{next(_unique)}",
        "password": PASSWORD,
        "role": "operator_clerk",
        "organisation": tenant.organisation,
    }
    return Call("POST", "/admin/users", body)


def _patch_user(world: World, actor: str, tenant: Tenant) -> Call:
    user_id = world.user_ids[TENANT_USER[_key_of(world, tenant)]]
    return Call("PATCH", f"/admin/users/{user_id}", {"displayName": "Renamed (invented)"})


def _new_product(world: World, actor: str, tenant: Tenant) -> Call:
    body = {
        "id": f"water-{next(_unique)}",
        "name": "Demineralised water (invented product)",
        "organisation": tenant.organisation,
        "composition": [{"substance": "7732-18-5", "percent": 100}],
    }
    return Call("POST", "/products", body)


def _capture(world: World, actor: str, tenant: Tenant) -> Call:
    return Call("POST", "/capture", epcis_document(sale_event(tenant.location, tenant.party)))


def _case_url(suffix: str = "") -> Build:
    return lambda _world, _actor, tenant: Call("GET", f"/cases/{tenant.case}{suffix}")


def _case_action(action: str, body: Callable[[Tenant], Any]) -> Build:
    return lambda _world, _actor, tenant: Call("POST", f"/cases/{tenant.case}/{action}", body(tenant))


def _transition(world: World, actor: str, tenant: Tenant) -> Call:
    # A fresh case each time (the workflow moves only forward), whose evidence is the tenant's event.
    case = open_case(world.node, (tenant.event,))
    return Call("POST", f"/cases/{case}/transition", {"to": "triage"})


LOGIN = {"username": "spare-a", "password": PASSWORD}

# The expected outcomes, by hand. One column per actor (ACTOR_ORDER); "200" means the same for own and other
# tenant (or no tenant involved), "200/404" gives own/other.
EXPECTED = """
DELETE /tokens/{token_id}             200/404 200/404 200/404 200/404 200/200 200/404
GET    /admin/users                   403     403     403     200     200     403
GET    /alerts                        403     200     200     200     403     200
GET    /auth/me                       200     200     200     200     200     200
GET    /balance                       200/404 200/404 200/404 200/404 403     200/404
GET    /cases                         403     200     200     200     403     200
GET    /cases/{case_id}               403     200/404 200/404 200/404 403     200/404
GET    /cases/{case_id}/audit         403     200/404 200/404 200/404 403     200/404
GET    /cases/{case_id}/report        403     200/404 200/404 403     403     200/404
GET    /cases/{case_id}/report.pdf    403     200/404 200/404 403     403     200/404
GET    /checkpoint                    200     200     200     200     200     200
GET    /events                        200     200     200     200     403     200
GET    /events/{hash_id}              200/404 200/404 200/404 200/404 403     200/404
GET    /health                        200     200     200     200     200     200
GET    /jurisdictions                 200     200     200     200     200     200
GET    /lists                         200     200     200     200     200     200
GET    /organisations                 200     200     200     200     200     200
GET    /parties/{ref}                 403     200/404 200/404 403     403     200/404
GET    /products                      200     200     200     200     200     200
GET    /products/{product_id}         200     200     200     200     200     200
GET    /proof/consistency             200     200     200     200     200     200
GET    /proof/inclusion               200     200     200     200     200     200
GET    /sites                         200     200     200     200     200     200
GET    /tokens                        200     200     200     200     200     200
PATCH  /admin/users/{user_id}         403     403     403     200/404 200/200 403
POST   /admin/users                   403     403     403     201/403 201/201 403
POST   /auth/login                    200     200     200     200     200     200
POST   /auth/logout                   200     200     200     200     200     200
POST   /capture                       201/403 201/403 403     403     403     403
POST   /cases/{case_id}/assign        403     200/404 200/404 403     403     200/404
POST   /cases/{case_id}/comment       403     200/404 200/404 403     403     200/404
POST   /cases/{case_id}/evidence      403     200/404 200/404 403     403     200/404
POST   /cases/{case_id}/transition    403     200/404 200/404 403     403     200/404
POST   /decide                        200/404 200/404 403     403     403     403
POST   /detect/run                    403     403     200     200     200     200
POST   /ledger/verify                 403     200     200     200     200     200
POST   /products                      403     201/403 403     403     201/201 403
POST   /screen                        200     200     200     200     200     200
POST   /tokens                        201     201     201     201     201     201
"""


def _parse_expected() -> dict[tuple[str, str], dict[str, tuple[int, int]]]:
    table = {}
    for line in EXPECTED.strip().splitlines():
        method, path, *words = line.split()
        assert len(words) == len(ACTOR_ORDER), line
        outcomes = {}
        for actor, word in zip(ACTOR_ORDER, words, strict=True):
            own, _, other = word.partition("/")
            outcomes[actor] = (int(own), int(other or own))
        table[(method, path)] = outcomes
    return table


EXPECT = _parse_expected()


def _post(url: str, body: Any = None) -> Build:
    return lambda _world, _actor, _tenant: Call("POST", url, body)


BUILD: dict[tuple[str, str], Build] = {
    ("DELETE", "/tokens/{token_id}"): _delete_token,
    ("GET", "/admin/users"): _get("/admin/users"),
    ("GET", "/alerts"): _get("/alerts"),
    ("GET", "/auth/me"): _get("/auth/me"),
    ("GET", "/balance"): lambda w, a, t: Call("GET", f"/balance?site={t.site}"),
    ("GET", "/cases"): _get("/cases"),
    ("GET", "/cases/{case_id}"): _case_url(),
    ("GET", "/cases/{case_id}/audit"): _case_url("/audit"),
    ("GET", "/cases/{case_id}/report"): _case_url("/report"),
    ("GET", "/cases/{case_id}/report.pdf"): _case_url("/report.pdf?lang=fr"),
    ("GET", "/checkpoint"): _get("/checkpoint"),
    ("GET", "/events"): _get("/events"),
    ("GET", "/events/{hash_id}"): lambda w, a, t: Call("GET", f"/events/{quote(t.event, safe='')}"),
    ("GET", "/health"): _get("/health"),
    ("GET", "/jurisdictions"): _get("/jurisdictions"),
    ("GET", "/lists"): _get("/lists"),
    ("GET", "/organisations"): _get("/organisations"),
    ("GET", "/parties/{ref}"): lambda w, a, t: Call("GET", f"/parties/{t.party}?purpose=matrix+test"),
    ("GET", "/products"): _get("/products?q=h2o2"),
    ("GET", "/products/{product_id}"): _get("/products/h2o2-30"),
    ("GET", "/proof/consistency"): _get("/proof/consistency?size1=1"),
    ("GET", "/proof/inclusion"): lambda w, a, t: Call(
        "GET", f"/proof/inclusion?hashId={quote(t.event, safe='')}"
    ),
    ("GET", "/sites"): _get("/sites"),
    ("GET", "/tokens"): _get("/tokens"),
    ("PATCH", "/admin/users/{user_id}"): _patch_user,
    ("POST", "/admin/users"): _new_user,
    ("POST", "/auth/login"): _post("/auth/login", LOGIN),
    ("POST", "/auth/logout"): _post("/auth/logout"),
    ("POST", "/capture"): _capture,
    ("POST", "/cases/{case_id}/assign"): _case_action("assign", lambda t: {"assignee": "someone"}),
    ("POST", "/cases/{case_id}/comment"): _case_action("comment", lambda t: {"text": "invented note"}),
    ("POST", "/cases/{case_id}/evidence"): _case_action("evidence", lambda t: {"hashIds": [t.event]}),
    ("POST", "/cases/{case_id}/transition"): _transition,
    ("POST", "/decide"): lambda w, a, t: Call(
        "POST", "/decide", {"product": "h2o2-30", "quantity": 1, "site": t.site}
    ),
    ("POST", "/detect/run"): _post("/detect/run", {"since": "2099-01-01"}),
    ("POST", "/ledger/verify"): _post("/ledger/verify"),
    ("POST", "/products"): _new_product,
    ("POST", "/screen"): _post("/screen", {"query": "7722-84-1"}),
    ("POST", "/tokens"): _post("/tokens", {"name": "erp"}),
}


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) of every route of the app except the web interface's and FastAPI's documentation."""
    found = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path = route.path_format or ""
        module = getattr(route.endpoint, "__module__", "") or ""
        if path.startswith(("/ui", "/static")) or path in DOCS or module.startswith("vigichem.web"):
            continue
        assert isinstance(route.original_route, APIRoute), f"{path} is not an API route and not excluded"
        found |= {(method, path) for method in route.methods or () if method != "HEAD"}
    return found


def _send(client: TestClient, call: Call, headers: dict[str, str]) -> Any:
    client.cookies.clear()  # a login sets the session cookie: each call here is on its own credentials
    return client.request(call.method, call.url, json=call.body, headers=headers)


def test_every_route_has_a_row(world_client: TestClient) -> None:
    routes = _api_routes(world_client)
    assert routes - set(EXPECT) == set(), "routes missing from the authorisation matrix"
    assert set(EXPECT) - routes == set(), "rows for routes that no longer exist"
    assert set(BUILD) == set(EXPECT)


@pytest.mark.parametrize("key", sorted(EXPECT), ids=lambda key: f"{key[0]} {key[1]}")
def test_route_outcomes(world: World, world_client: TestClient, key: tuple[str, str]) -> None:
    failures = []
    for actor, (own_status, other_status) in EXPECT[key].items():
        for tenant_key, wanted in ((OWN[actor], own_status), (OTHER[actor], other_status)):
            call = BUILD[key](world, actor, world.tenants[tenant_key])
            response = _send(world_client, call, world.headers(actor))
            if response.status_code != wanted:
                got = f"{response.status_code} != {wanted}: {response.text[:200]}"
                failures.append(f"{actor} on tenant {tenant_key}: {got}")
            elif wanted >= 400:
                error = response.json()["error"]
                assert error["code"] in {"forbidden", "not_found"} and error["message"]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", sorted(EXPECT), ids=lambda key: f"{key[0]} {key[1]}")
def test_unauthenticated_is_401(world: World, world_client: TestClient, key: tuple[str, str]) -> None:
    call = BUILD[key](world, "clerk", world.tenants["A"])
    response = _send(world_client, call, {})
    if key in PUBLIC:
        assert response.status_code == 200
        return
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


def test_narrowed_token_scopes(world: World, world_client: TestClient) -> None:
    user = get_user(world.node.engine, world.user_ids["compliance"])
    _token, secret = issue_token(world.node.engine, user, "screen only", ["screen", "tokens:manage"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert _send(world_client, Call("POST", "/screen", {"query": "7722-84-1"}), headers).status_code == 200
    for call in (Call("GET", "/events"), Call("GET", "/cases"), Call("POST", "/capture", {})):
        response = _send(world_client, call, headers)
        assert response.status_code == 403, call
        assert "scopes" in response.json()["error"]["message"]
    # A token never mints a wider one; within its scopes it may.
    wider = _send(
        world_client, Call("POST", "/tokens", {"name": "wider", "scopes": ["events:read"]}), headers
    )
    assert wider.status_code == 400 and "events:read" in wider.json()["error"]["message"]
    narrower = _send(world_client, Call("POST", "/tokens", {"name": "narrow", "scopes": ["screen"]}), headers)
    assert narrower.status_code == 201 and narrower.json()["token"]["scopes"] == ["screen"]
    default = _send(world_client, Call("POST", "/tokens", {"name": "same"}), headers)
    assert default.json()["token"]["scopes"] == ["screen", "tokens:manage"]
    # A role never grants a token more than the role holds.
    beyond = _send(
        world_client,
        Call("POST", "/tokens", {"name": "x", "scopes": ["users:manage"]}),
        world.headers("clerk"),
    )
    assert beyond.status_code == 400 and "users:manage" in beyond.json()["error"]["message"]
