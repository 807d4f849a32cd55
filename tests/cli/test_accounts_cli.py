"""``vigichem users`` and ``vigichem tokens`` on a real SQLite node: exit codes, messages, effects.

The node holds two invented organisations (test data, labelled fake): an operator and an authority.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vigichem.accounts import authenticate, list_tokens, token_principal
from vigichem.cli import app
from vigichem.errors import AuthenticationRequired
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import Organisation
from vigichem.ledger.node import init_node, load_node
from vigichem.settings import get_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A node with one operator and one authority (invented, fake), named by the environment."""
    directory = tmp_path / "node"
    node = init_node(directory, "Test node", "FR")
    masterdata = MasterData(node.engine)
    masterdata.register_organisation(Organisation(id="shop-1", name="Test shop (fake)", country="FR"))
    masterdata.register_organisation(
        Organisation(id="authority-fr", name="Test authority (fake)", country="FR", kind="authority")
    )
    node.close()
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(directory))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


def _run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


def _add(username: str, role: str, *extra: str, password: str = PASSWORD) -> Any:
    return _run("users", "add", username, "--role", role, *extra, "--password-stdin", stdin=password + "\n")


def test_add_then_the_user_logs_in_and_is_listed(data_dir: Path) -> None:
    result = _add("alice", "operator_compliance", "--organisation", "shop-1")
    assert result.exit_code == 0, result.output
    assert "user alice created" in result.output and "operator_compliance of shop-1" in result.output
    node = load_node(require_key=False)
    try:
        user = authenticate(node.engine, "alice", PASSWORD)
    finally:
        node.close()
    assert user.organisation == "shop-1" and user.country == "FR"
    listed = _run("users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(row["username"], row["role"], row["disabled"]) for row in rows] == [
        ("alice", "operator_compliance", False)
    ]
    assert "password" not in listed.stdout
    table = _run("users", "list")
    assert "alice" in table.output and "active" in table.output


def test_add_prompts_twice_when_no_stdin_option(data_dir: Path) -> None:
    result = _run("users", "add", "root", "--role", "node_admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # typed without echo
    mismatch = _run("users", "add", "root2", "--role", "node_admin", stdin=f"{PASSWORD}\nother password\n")
    assert mismatch.exit_code != 0
    assert "do not match" in mismatch.output.lower()


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("bob", "operator_clerk", "--organisation", "authority-fr"), PASSWORD, "needs an operator"),
        (("bob", "operator_clerk"), PASSWORD, "needs an organisation"),
        (("bob", "operator_clerk", "--organisation", "nowhere"), PASSWORD, "no organisation 'nowhere'"),
        (("bob", "node_admin", "--organisation", "shop-1"), PASSWORD, "belongs to no organisation"),
        (("bob", "wizard"), PASSWORD, "role 'wizard' is not one of"),
        (("bob", "node_admin"), "short", "at least 10 characters"),
        (("Bad Name!", "node_admin"), PASSWORD, "lower-case letters"),
    ],
)
def test_add_refuses_bad_input_with_the_reason(
    data_dir: Path, args: tuple[str, ...], password: str, message: str
) -> None:
    result = _add(*args, password=password)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert json.loads(_run("users", "list", "--json").stdout) == []


def test_a_taken_username_is_a_conflict(data_dir: Path) -> None:
    assert _add("carol", "node_admin").exit_code == 0
    again = _add("carol", "node_admin")
    assert again.exit_code == 2 and "the username 'carol' is taken" in again.output


def test_empty_stdin_is_refused(data_dir: Path) -> None:
    result = _run("users", "add", "dave", "--role", "node_admin", "--password-stdin", stdin="")
    assert result.exit_code == 2 and "standard input held no password" in result.output


def test_disable_and_passwd_end_credentials(data_dir: Path) -> None:
    assert _add("erin", "authority_analyst", "--organisation", "authority-fr").exit_code == 0
    issued = _run("tokens", "issue", "erin", "--name", "script")
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip().splitlines()[-1]
    changed = _run("users", "passwd", "erin", "--password-stdin", stdin="another long password\n")
    assert changed.exit_code == 0, changed.output
    node = load_node(require_key=False)
    try:
        with pytest.raises(AuthenticationRequired):
            authenticate(node.engine, "erin", PASSWORD)
        authenticate(node.engine, "erin", "another long password")
        with pytest.raises(AuthenticationRequired):  # a new password revokes the tokens
            token_principal(node.engine, secret)
    finally:
        node.close()
    disabled = _run("users", "disable", "erin")
    assert disabled.exit_code == 0 and "erin disabled" in disabled.output
    node = load_node(require_key=False)
    try:
        with pytest.raises(AuthenticationRequired, match="disabled"):
            authenticate(node.engine, "erin", "another long password")
    finally:
        node.close()
    for command in (("users", "disable", "nobody"), ("users", "passwd", "nobody", "--password-stdin")):
        missing = _run(*command, stdin=PASSWORD + "\n")
        assert missing.exit_code == 2 and "no user 'nobody'" in missing.output


def test_tokens_issue_list_revoke(data_dir: Path) -> None:
    assert _add("erp", "operator_clerk", "--organisation", "shop-1").exit_code == 0
    scopes = ("--scope", "decide", "--scope", "screen")
    issued = _run("tokens", "issue", "erp", "--name", "ERP at site 3", *scopes)
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    assert secret.startswith("vgc_") and "\n" not in secret  # stdout carries the secret alone
    node = load_node(require_key=False)
    try:
        principal = token_principal(node.engine, secret)
        assert {str(p) for p in principal.permissions} == {"decide", "screen"}
        token_id = list_tokens(node.engine)[0].id
    finally:
        node.close()
    listed = _run("tokens", "list", "erp", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["username"], r["scopes"], r["revokedAt"]) for r in rows] == [
        ("ERP at site 3", "erp", ["decide", "screen"], None)
    ]
    assert secret not in listed.stdout
    revoked = _run("tokens", "revoke", str(token_id))
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in _run("tokens", "list").output
    node = load_node(require_key=False)
    try:
        with pytest.raises(AuthenticationRequired):
            token_principal(node.engine, secret)
    finally:
        node.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scope", "users:manage"), "does not hold the scope(s) users:manage"),
        (("--scope", "fly"), "'fly' is not a valid Permission"),
        (("--expires", "2001-01-01"), "is in the past"),
        (("--expires", "next week"), "is not a date"),
        (("--expires", "2099-01-01T10:00"), "needs a time-zone offset"),
    ],
)
def test_tokens_issue_refuses_bad_input(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    assert _add("erp", "operator_clerk", "--organisation", "shop-1").exit_code == 0
    result = _run("tokens", "issue", "erp", "--name", "n", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert json.loads(_run("tokens", "list", "--json").stdout) == []


def test_tokens_for_unknown_users_and_ids(data_dir: Path) -> None:
    issue = _run("tokens", "issue", "ghost", "--name", "n")
    assert issue.exit_code == 2 and "no user 'ghost'" in issue.output
    listed = _run("tokens", "list", "ghost")
    assert listed.exit_code == 2 and "no user 'ghost'" in listed.output
    revoke = _run("tokens", "revoke", "42")
    assert revoke.exit_code == 2 and "no API token 42" in revoke.output


def test_no_node_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGICHEM_DATA_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.delenv("VIGICHEM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = _run("users", "list")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
