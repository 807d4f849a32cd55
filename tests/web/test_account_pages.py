"""The account pages: administrators create and change accounts within ``may_manage``; users' own API tokens.

All accounts, organisations and tokens created here are invented test data on the seeded demo node.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import SeededNode, csrf_of, login
from vigichem.accounts import Role, authenticate, list_users
from vigichem.errors import AuthenticationRequired
from vigichem.ledger.inventory_tables import organisations
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation

PASSWORD = "invented-password-for-tests"


def _usernames(seeded: SeededNode) -> set[str]:
    return {user.username for user in list_users(seeded.node.engine)}


def _country(seeded: SeededNode, organisation: str) -> str:
    with seeded.node.engine.connect() as connection:
        country = connection.scalar(select(organisations.c.country).where(organisations.c.id == organisation))
    assert country is not None
    return str(country)


@pytest.fixture(scope="module")
def foreign_operator(seeded: SeededNode) -> str:
    """An invented operator in another country than the demo's (no site, no event: nothing else moves)."""
    country = "BE" if _country(seeded, seeded.shop) != "BE" else "LU"
    MasterData(seeded.node.engine).register_organisation(
        Organisation(id="invented-foreign-op", name="Foreign operator (invented)", country=country)
    )
    return "invented-foreign-op"


def _create(client: TestClient, **fields: str) -> Any:
    form = {"display_name": "", "language": "en", "password": PASSWORD, **fields}
    return client.post("/ui/admin/users", data={**form, "csrf_token": csrf_of(client)})


def test_an_authority_admin_creates_an_operator_account_of_its_country(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["authority.admin"]
    page = client.get("/ui/admin/users")
    assert page.status_code == 200 and 'data-testid="user-form"' in page.text
    assert 'data-username="clerk"' in page.text and 'data-username="admin"' not in page.text
    assert 'value="node_admin"' not in page.text  # the role is not offered to an authority administrator
    created = _create(
        client, username="web.invented.clerk", display_name="Invented clerk", role="operator_clerk",
        organisation=seeded.shop, language="fr",
    )  # fmt: skip
    assert created.status_code == 303
    assert created.headers["location"] == "/ui/admin/users?done=created&user=web.invented.clerk"
    listed = client.get(created.headers["location"])
    assert 'data-testid="users-notice"' in listed.text and 'data-username="web.invented.clerk"' in listed.text
    user = authenticate(seeded.node.engine, "web.invented.clerk", PASSWORD)
    assert (user.role, user.organisation, user.language) == (Role.OPERATOR_CLERK, seeded.shop, "fr")
    again = _create(client, username="web.invented.clerk", role="operator_clerk", organisation=seeded.shop)
    assert again.status_code == 409 and "taken" in again.text and 'data-testid="users-error"' in again.text
    short = _create(
        client,
        username="web.invented.short",
        role="operator_clerk",
        organisation=seeded.shop,
        password="short",
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert "web.invented.short" not in _usernames(seeded)


def test_an_authority_admin_cannot_create_abroad_or_a_node_admin_and_nothing_is_stored(
    seeded: SeededNode, clients: dict[str | None, TestClient], foreign_operator: str
) -> None:
    client = clients["authority.admin"]
    before = _usernames(seeded)
    abroad = _create(
        client, username="web.invented.abroad", role="operator_clerk", organisation=foreign_operator
    )
    assert abroad.status_code == 403 and 'data-testid="error-page"' in abroad.text
    assert "may not create" in abroad.text
    node_admin = _create(client, username="web.invented.root", role="node_admin", organisation="")
    assert node_admin.status_code == 403 and 'data-testid="error-page"' in node_admin.text
    unknown = _create(client, username="web.invented.nowhere", role="operator_clerk", organisation="no-such")
    assert unknown.status_code == 403
    assert _usernames(seeded) == before
    # The node administrator may create both (the foreign organisation is offered to it).
    admin = clients["admin"]
    assert f'value="{foreign_operator}"' in admin.get("/ui/admin/users").text
    made = _create(
        admin, username="web.invented.abroad", role="operator_clerk", organisation=foreign_operator
    )
    assert made.status_code == 303 and "web.invented.abroad" in _usernames(seeded)


def test_disable_enable_reset_and_change_role_within_what_the_policy_allows(
    app: FastAPI, seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    engine = seeded.node.engine
    admin = clients["authority.admin"]
    assert _create(
        admin, username="web.invented.staff", role="operator_clerk", organisation=seeded.shop
    ).status_code == 303  # fmt: skip
    user = next(u for u in list_users(engine) if u.username == "web.invented.staff")
    session = login(app, "web.invented.staff", PASSWORD)
    assert session.get("/ui/screen").status_code == 200

    def act(client: TestClient, target: int, **form: str) -> Any:
        return client.post(f"/ui/admin/users/{target}", data={**form, "csrf_token": csrf_of(client)})

    disabled = act(admin, user.id, action="disable")
    assert disabled.status_code == 303 and disabled.headers["location"].endswith(
        "done=disable&user=web.invented.staff"
    )
    with pytest.raises(AuthenticationRequired):
        authenticate(engine, "web.invented.staff", PASSWORD)
    assert session.get("/ui/screen").headers["location"].startswith("/ui/login")  # its session ended
    assert act(admin, user.id, action="enable").status_code == 303
    assert act(admin, user.id, action="password", password="short").status_code == 400
    assert act(admin, user.id, action="password", password="another-invented-pw").status_code == 303
    assert authenticate(engine, "web.invented.staff", "another-invented-pw").id == user.id
    promoted = act(admin, user.id, action="role", role="operator_compliance")
    assert promoted.status_code == 303
    assert authenticate(engine, "web.invented.staff", "another-invented-pw").role is Role.OPERATOR_COMPLIANCE
    # The organisation is an operator: an authority role does not fit it (the service says so).
    misfit = act(admin, user.id, action="role", role="authority_analyst")
    assert misfit.status_code == 400 and "needs an authority organisation" in misfit.text
    assert act(admin, user.id, action="role", role="node_admin").status_code == 403
    assert act(admin, user.id, action="fly").status_code == 400
    node_admin = next(u for u in list_users(engine) if u.username == "admin")
    assert act(admin, node_admin.id, action="disable").status_code == 404  # not an account it manages
    assert act(admin, 2147483647, action="disable").status_code == 404
    assert not authenticate(engine, "admin", seeded.passwords["admin"]).disabled
    refused = admin.post(f"/ui/admin/users/{user.id}", data={"action": "disable"})  # no CSRF token
    assert refused.status_code == 403
    assert not authenticate(engine, "web.invented.staff", "another-invented-pw").disabled


def _issue(client: TestClient, name: str, *scopes: str, expires: str = "") -> Any:
    form: dict[str, Any] = {"name": name, "scopes": list(scopes), "expires": expires}
    return client.post("/ui/tokens", data={**form, "csrf_token": csrf_of(client)})


def test_a_token_issued_in_the_page_works_on_the_api_until_it_is_revoked(
    app: FastAPI, clients: dict[str | None, TestClient]
) -> None:
    client = clients["compliance"]
    issued = _issue(client, "invented ERP token", "events:read", "screen", expires="2099-12-31")
    assert issued.status_code == 200 and 'data-testid="token-secret"' in issued.text
    found = re.search(r'data-testid="secret">(vgc_[A-Za-z0-9_-]+)<', issued.text)
    assert found is not None
    secret = found.group(1)
    token_id = int(re.findall(r'data-token="(\d+)"', issued.text)[0])  # newest first
    assert f"{secret[:12]}…" in issued.text and "2099-12-31" in issued.text
    assert secret not in client.get("/ui/tokens").text  # shown once only
    api = TestClient(app)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/events", params={"perPage": "1"}, headers=bearer).status_code == 200
    assert api.get("/balance", headers=bearer).status_code == 403  # not among the scopes chosen
    revoked = client.post(f"/ui/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(client)})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/ui/tokens"
    after = api.get("/events", params={"perPage": "1"}, headers=bearer)
    assert after.status_code == 401 and after.json()["error"]["code"]
    listing = client.get("/ui/tokens").text
    row = listing.split(f'data-token="{token_id}"', 1)[1].split("</tr>", 1)[0]
    assert "revoked" in row and "Last used" in listing and "UTC" in row
    assert f'data-testid="revoke-{token_id}"' not in listing


def test_a_token_is_refused_scopes_beyond_the_role_no_scope_or_a_past_expiry(
    seeded: SeededNode, clients: dict[str | None, TestClient]
) -> None:
    client = clients["clerk"]
    page = client.get("/ui/tokens")
    assert 'value="events:capture"' in page.text and 'value="users:manage"' not in page.text
    beyond = _issue(client, "invented wide token", "users:manage")
    assert beyond.status_code == 400 and "does not hold the scope" in beyond.text
    assert _issue(client, "invented empty token").status_code == 400
    past = _issue(client, "invented old token", "screen", expires="2001-01-01")
    assert past.status_code == 400 and "in the past" in past.text
    nameless = _issue(client, "  ", "screen")
    assert nameless.status_code == 400 and "needs a name" in nameless.text
    assert "invented wide token" not in client.get("/ui/tokens").text
