"""Log in and out, sessions and CSRF, API tokens and account administration (invented world)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.world import PASSWORD, World
from vigichem.api import create_app
from vigichem.api.auth import CSRF_HEADER, SESSION_COOKIE
from vigichem.settings import Settings


@pytest.fixture
def client(world_client: TestClient) -> Iterator[TestClient]:
    """The world's client with no cookie left from another test."""
    world_client.cookies.clear()
    yield world_client
    world_client.cookies.clear()


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def _login(client: TestClient, username: str = "analyst-fr") -> str:
    response = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrfToken"]
    return token


def test_health_is_public(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["version"]


def test_login_sets_a_hardened_session_cookie(client: TestClient) -> None:
    response = client.post("/auth/login", json={"username": "Analyst-FR", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "max-age=43200" in lowered
    assert "secure" not in lowered.replace("samesite", "")
    body = response.json()
    assert body["user"]["username"] == "analyst-fr" and "passwordHash" not in body["user"]
    me = client.get("/auth/me").json()
    assert me["via"] == "session" and me["csrfToken"] == body["csrfToken"]
    assert me["permissions"] == sorted(me["permissions"]) and "cases:act" in me["permissions"]


def test_secure_cookie_and_lifetime_follow_the_settings(world: World) -> None:
    settings = Settings(data_dir=world.node.data_dir, secure_cookies=True, session_hours=2)
    with TestClient(create_app(settings, node=world.node)) as secure:
        cookie = secure.post("/auth/login", json={"username": "analyst-fr", "password": PASSWORD}).headers[
            "set-cookie"
        ]
    assert "; secure" in cookie.lower() and "max-age=7200" in cookie.lower()


@pytest.mark.parametrize(
    ("username", "password"),
    [("analyst-fr", "wrong-password-123"), ("nobody-here", PASSWORD), ("analyst-fr", "")],
)
def test_wrong_credentials(client: TestClient, username: str, password: str) -> None:
    response = client.post("/auth/login", json={"username": username, "password": password})
    if password:
        assert _error(response, 401, "unauthenticated")["message"] == "wrong username or password"
    else:
        _error(response, 422, "invalid_input")
    assert SESSION_COOKIE not in response.cookies


def test_a_nul_character_is_refused_in_the_envelope(client: TestClient) -> None:
    response = client.post("/auth/login", json={"username": "\u0000", "password": PASSWORD})
    # PostgreSQL refuses NUL in text (400); SQLite stores it, so the login simply fails (401).
    assert response.status_code in (400, 401)
    assert response.json()["error"]["code"] in ("invalid_input", "unauthenticated")


def test_csrf_is_required_with_the_session_cookie_only(client: TestClient, world: World) -> None:
    csrf = _login(client)
    refused = client.post("/tokens", json={"name": "from the browser"})
    assert "CSRF" in _error(refused, 403, "forbidden")["message"]
    wrong = client.post("/tokens", json={"name": "from the browser"}, headers={CSRF_HEADER: "0" * 64})
    _error(wrong, 403, "forbidden")
    accepted = client.post("/tokens", json={"name": "from the browser"}, headers={CSRF_HEADER: csrf})
    assert accepted.status_code == 201
    client.cookies.clear()
    bearer = client.post("/tokens", json={"name": "from a machine"}, headers=world.headers("analyst"))
    assert bearer.status_code == 201  # no browser sends a bearer token on its own: no CSRF token needed


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = _login(client)
    key = client.cookies[SESSION_COOKIE]
    assert client.post("/auth/logout", headers={CSRF_HEADER: csrf}).json() == {"loggedOut": True}
    client.cookies.set(SESSION_COOKIE, key)  # replaying the old cookie does not work
    _error(client.get("/auth/me"), 401, "unauthenticated")


def test_a_bad_credential_is_401_not_anonymous(client: TestClient) -> None:
    _error(
        client.get("/auth/me", headers={"Authorization": "Bearer vgc_not-a-token"}), 401, "unauthenticated"
    )
    _error(client.get("/auth/me", headers={"Authorization": "Basic abc"}), 401, "unauthenticated")
    client.cookies.set(SESSION_COOKIE, "forged")
    _error(client.get("/auth/me"), 401, "unauthenticated")


def test_token_lifecycle(client: TestClient, world: World) -> None:
    headers = world.headers("compliance")
    created = client.post(
        "/tokens", json={"name": "ERP", "scopes": ["events:capture", "events:read"]}, headers=headers
    )
    assert created.status_code == 201
    token, secret = created.json()["token"], created.json()["secret"]
    assert secret.startswith("vgc_") and token["scopes"] == ["events:capture", "events:read"]
    listed = client.get("/tokens", headers=headers).json()
    assert token["id"] in [item["id"] for item in listed["items"]] and secret not in str(listed)
    assert listed["page"]["total"] == len(listed["items"])
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert (
        me["via"] == "token"
        and me["permissions"] == ["events:capture", "events:read"]
        and "csrfToken" not in me
    )
    revoked = client.delete(f"/tokens/{token['id']}", headers=headers).json()
    assert revoked["revokedAt"] is not None
    _error(client.get("/auth/me", headers={"Authorization": f"Bearer {secret}"}), 401, "unauthenticated")
    _error(client.delete("/tokens/999999", headers=headers), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"name": "x", "expiresAt": "2099-01-01T00:00:00"}, "offset"),
        ({"name": "x", "scopes": []}, "at least one scope"),
        ({"name": "x", "scopes": ["users:manage"]}, "users:manage"),
        ({"name": "   "}, "needs a name"),
    ],
)
def test_token_requests_refused(
    client: TestClient, world: World, body: dict[str, Any], fragment: str
) -> None:
    error = _error(client.post("/tokens", json=body, headers=world.headers("clerk")), 400, "invalid_input")
    assert fragment in error["message"]
    _error(
        client.post("/tokens", json={"name": "x", "scopes": ["fly"]}, headers=world.headers("clerk")),
        422,
        "invalid_input",
    )


def test_an_expiring_token_works_until_then(client: TestClient, world: World) -> None:
    made = client.post(
        "/tokens",
        json={"name": "soon", "expiresAt": "2099-01-01T00:00:00+02:00"},
        headers=world.headers("clerk"),
    )
    assert made.status_code == 201 and made.json()["token"]["expiresAt"] == "2098-12-31T22:00:00Z"


def test_admin_sees_only_the_accounts_it_manages(client: TestClient, world: World) -> None:
    authority = client.get("/admin/users", params={"limit": 500}, headers=world.headers("authadmin")).json()
    names = {user["username"] for user in authority["items"]}
    assert {"clerk-a", "clerk-b", "analyst-fr", "admin-fr"} <= names
    assert not names & {"root", "analyst-de", "clerk-c", "spare-c"}
    root = client.get("/admin/users", params={"limit": 500}, headers=world.headers("nodeadmin")).json()
    assert {"root", "analyst-de", "clerk-c"} <= {user["username"] for user in root["items"]}
    page = client.get(
        "/admin/users", params={"limit": 2, "offset": 1}, headers=world.headers("nodeadmin")
    ).json()
    assert (
        len(page["items"]) == 2
        and page["page"]["nextOffset"] == 3
        and page["page"]["total"] == root["page"]["total"]
    )


def test_admin_creates_and_changes_accounts(client: TestClient, world: World) -> None:
    headers = world.headers("authadmin")
    body = {
        "username": "new-clerk",
        "password": PASSWORD,
        "role": "operator_clerk",
        "organisation": "op-b",
        "displayName": "New clerk (invented)",
        "language": "fr",
    }
    created = client.post("/admin/users", json=body, headers=headers)
    assert (
        created.status_code == 201
        and created.json()["language"] == "fr"
        and created.json()["country"] == "FR"
    )
    assert _error(client.post("/admin/users", json=body, headers=headers), 409, "conflict")["details"] == {
        "username": "new-clerk"
    }
    user_id = created.json()["id"]
    changed = client.patch(f"/admin/users/{user_id}", json={"disabled": True}, headers=headers)
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    _error(
        client.post("/auth/login", json={"username": "new-clerk", "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    _error(
        client.patch(f"/admin/users/{user_id}", json={"role": "node_admin"}, headers=headers),
        403,
        "forbidden",
    )
    _error(
        client.patch(f"/admin/users/{user_id}", json={"role": "authority_analyst"}, headers=headers),
        400,
        "invalid_input",
    )
    _error(
        client.patch(f"/admin/users/{user_id}", json={"language": "xx"}, headers=headers),
        400,
        "invalid_input",
    )
    _error(client.patch("/admin/users/999999", json={"disabled": False}, headers=headers), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"role": "operator_clerk", "organisation": "auth-fr"},
            400,
            "invalid_input",
        ),  # role vs organisation kind
        ({"role": "operator_clerk", "organisation": "op-c"}, 403, "forbidden"),  # another country
        ({"role": "node_admin"}, 403, "forbidden"),  # never a node administrator
        ({"role": "operator_clerk", "organisation": "op-a", "password": "short"}, 400, "invalid_input"),
        ({"role": "operator_clerk", "organisation": "op-a", "username": "No Spaces"}, 400, "invalid_input"),
        ({"role": "pilot", "organisation": "op-a"}, 422, "invalid_input"),
    ],
)
def test_admin_refusals(
    client: TestClient, world: World, body: dict[str, Any], status: int, code: str
) -> None:
    full = {"username": "refused-user", "password": PASSWORD, **body}
    _error(client.post("/admin/users", json=full, headers=world.headers("authadmin")), status, code)
