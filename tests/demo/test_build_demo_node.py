"""The demo node: a short simulated period (all data fake) built through the real capture path.

The module builds one 25-day demo node (a few seconds) and checks what ``make demo`` promises: every role
can log in, alerts and cases exist, the shop's users have a case of their own and the other operator sees
none of it, the ledger verifies, the logins file is private; then rebuilding and refusing.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vigichem.accounts import Role, authenticate, open_session, session_principal
from vigichem.accounts.policy import case_condition
from vigichem.cases import tables as case_tables
from vigichem.demo import MARKER, DemoNode, build_demo_node, is_demo_node
from vigichem.errors import AuthenticationRequired, InvalidInput
from vigichem.ledger import service
from vigichem.ledger.db import events
from vigichem.ledger.node import load_node

DAYS = 25


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoNode:
    """A 25-day demo node, built once for the module."""
    return build_demo_node(tmp_path_factory.mktemp("demo") / "node", days=DAYS)


def _cases_seen(demo: DemoNode, username: str) -> set[int]:
    account = next(a for a in demo.accounts if a.username == username)
    node = load_node(demo.settings, require_key=False)
    try:
        user = authenticate(node.engine, account.username, account.password)
        principal = session_principal(node.engine, open_session(node.engine, user))
        with node.engine.connect() as connection:
            return set(
                connection.scalars(select(case_tables.cases.c.id).where(case_condition(principal))).all()
            )
    finally:
        node.close()


def test_the_node_holds_the_simulation_captured_with_alerts_and_cases(demo: DemoNode) -> None:
    assert demo.manifest.days == DAYS
    assert demo.events_captured == demo.manifest.events > 0
    assert demo.duplicates == 0
    assert demo.alerts > 0
    assert demo.cases_opened > 0
    node = load_node(demo.settings, require_key=False)
    try:
        with node.engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(events)) == demo.events_captured
            assert connection.scalar(select(func.count()).select_from(case_tables.cases)) == demo.cases_opened
        assert node.identity.country == "FR"
    finally:
        node.close()
    assert {timing.step for timing in demo.timings} == {
        "simulate",
        "masterdata",
        "capture",
        "detect",
        "accounts",
    }


def test_the_ledger_verifies(demo: DemoNode) -> None:
    node = load_node(demo.settings, require_key=False)
    try:
        report = service.verify(node.store, node.identity.public_key)
    finally:
        node.close()
    assert report.ok, report.discrepancy
    assert report.tree_size == demo.events_captured
    assert report.checkpoints_checked > 0


def test_every_role_has_an_account_that_logs_in(demo: DemoNode) -> None:
    assert {account.role for account in demo.accounts} == set(Role)
    node = load_node(demo.settings, require_key=False)
    try:
        for account in demo.accounts:
            assert len(account.password) >= 12
            user = authenticate(node.engine, account.username, account.password)
            assert user.role is account.role
            assert user.organisation == account.organisation
            with pytest.raises(AuthenticationRequired):
                authenticate(node.engine, account.username, account.password + "x")
    finally:
        node.close()
    by_name = {account.username: account for account in demo.accounts}
    assert by_name["clerk"].organisation == by_name["compliance"].organisation == demo.shop
    assert by_name["other.compliance"].organisation == demo.other_operator != demo.shop
    assert by_name["analyst"].organisation == by_name["authority.admin"].organisation == demo.authority


def test_the_shop_has_sales_and_a_case_and_tenancy_shows(demo: DemoNode) -> None:
    shop_cases = _cases_seen(demo, "compliance")
    other_cases = _cases_seen(demo, "other.compliance")
    analyst_cases = _cases_seen(demo, "analyst")
    assert shop_cases, "the demo shop's compliance officer should have a case to work"
    assert not shop_cases & other_cases
    assert shop_cases | other_cases <= analyst_cases
    node = load_node(demo.settings, require_key=False)
    try:
        with node.engine.connect() as connection:
            sales = connection.scalar(
                select(func.count()).select_from(events).where(events.c.biz_step.like("%retail_selling"))
            )
    finally:
        node.close()
    assert sales


def test_the_logins_file_is_private_and_lists_every_login(demo: DemoNode) -> None:
    mode = stat.S_IMODE(demo.logins_file.stat().st_mode)
    assert mode == 0o600
    text = demo.logins_file.read_text(encoding="utf-8")
    assert "FAKE" in text
    for account in demo.accounts:
        assert f"{account.username}\t{account.password}\t{account.role}" in text
    assert is_demo_node(demo.data_dir)


def test_a_second_build_recreates_a_demo_node(tmp_path: Path) -> None:
    target = tmp_path / "node"
    first = build_demo_node(target, days=8, seed=3)
    stray = target / "stray.txt"
    stray.write_text("left by a previous run", encoding="utf-8")
    second = build_demo_node(target, days=8, seed=3)
    assert not stray.exists()
    assert second.events_captured == first.events_captured  # same seed, rebuilt from scratch: no duplicates
    assert second.duplicates == 0
    node = load_node(second.settings, require_key=False)
    try:
        old = next(a for a in first.accounts if a.username == "analyst")
        new = next(a for a in second.accounts if a.username == "analyst")
        assert old.password != new.password
        with pytest.raises(AuthenticationRequired):
            authenticate(node.engine, "analyst", old.password)
        authenticate(node.engine, "analyst", new.password)
    finally:
        node.close()


def test_a_non_empty_directory_that_is_not_a_demo_is_refused(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("someone's data", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a demo node"):
        build_demo_node(tmp_path, days=8)
    assert precious.read_text(encoding="utf-8") == "someone's data"
    assert not (tmp_path / MARKER).exists()


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a directory", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a directory"):
        build_demo_node(target, days=8)
