"""A seeded node for the web tests: a short simulation (all data fake) through the demo builder.

:func:`vigichem.demo.build_demo_node` simulates 45 days of the invented national chain, captures it through
the real capture path, runs detection, records the cases and creates one account of each role (random
passwords, handed back in ``DemoNode.accounts``). It is built once per test session; tests that act on cases
pick cases no other test relies on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import and_

from vigichem.accounts import Principal, authenticate, policy
from vigichem.accounts.policy import effective_permissions
from vigichem.api.app import create_app
from vigichem.cases import count_cases, list_cases
from vigichem.cases import tables as case_tables
from vigichem.demo import build_demo_node
from vigichem.ledger.node import Node, load_node
from vigichem.settings import Settings

ROLES = ("clerk", "compliance", "other.compliance", "analyst", "authority.admin", "admin")
"""The demo accounts: a shop's clerk and compliance officer, another operator's compliance officer, the
authority's analyst and administrator, and the node administrator."""


@dataclass(frozen=True, slots=True)
class SeededNode:
    """The node, its settings, the accounts' passwords and a few case ids chosen by tenancy."""

    node: Node
    settings: Settings
    passwords: dict[str, str]
    own_case: (
        int  # a case of the shop: seen by its compliance officer and the authority, not by the other operator
    )
    other_case: int  # a case the shop's compliance officer may not see
    shop: str


def _principal(node: Node, username: str, password: str) -> Principal:
    user = authenticate(node.engine, username, password)
    return Principal(user=user, permissions=effective_permissions(user.role), via="session")


def _visible(node: Node, principal: Principal, case_id: int) -> bool:
    where = and_(case_tables.cases.c.id == case_id, policy.case_condition(principal))
    return count_cases(node.engine, where=where) > 0


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededNode]:
    """The seeded node (built once per session)."""
    data_dir: Path = tmp_path_factory.mktemp("web") / "node"
    demo = build_demo_node(data_dir, seed=7, days=45)
    settings = demo.settings
    node = load_node(settings)
    passwords = {account.username: account.password for account in demo.accounts}
    compliance = _principal(node, "compliance", passwords["compliance"])
    other = _principal(node, "other.compliance", passwords["other.compliance"])
    shop_cases = [case.id for case in list_cases(node.engine, where=policy.case_condition(compliance))]
    assert shop_cases, "the demo shop needs a case of its own for the web tests"
    assert not any(_visible(node, other, case_id) for case_id in shop_cases)
    hidden = [case.id for case in list_cases(node.engine) if case.id not in shop_cases]
    assert hidden, "the demo node needs a case the shop may not see"
    try:
        yield SeededNode(node, settings, passwords, shop_cases[0], hidden[0], demo.shop)
    finally:
        node.close()


@pytest.fixture(scope="session")
def app(seeded: SeededNode) -> FastAPI:
    """The API app (with the web interface) on the seeded node."""
    return create_app(seeded.settings, seeded.node)


def login(app: FastAPI, username: str | None, password: str | None) -> TestClient:
    """A client logged in through the login form (None: an anonymous client)."""
    client = TestClient(app, follow_redirects=False)
    if username is None:
        return client
    form = client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/ui/login",
        data={"username": username, "password": password or "", "next": "/ui/", "login_csrf": token.group(1)},
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture(scope="session")
def clients(app: FastAPI, seeded: SeededNode) -> dict[str | None, TestClient]:
    """One logged-in client per demo account, and the anonymous one (key None)."""
    made: dict[str | None, TestClient] = {None: login(app, None, None)}
    for role in ROLES:
        made[role] = login(app, role, seeded.passwords[role])
    return made


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, read from a page (the ``hx-headers`` attribute on ``<body>``)."""
    page = client.get("/ui/screen")
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)
