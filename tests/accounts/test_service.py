"""Account operations on SQLite and PostgreSQL: passwords, sessions, tokens, roles and organisations.

Invented test data: organisations, usernames and passwords.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from vigichem.accounts import (
    Permission,
    Role,
    authenticate,
    change_user,
    check_csrf,
    close_session,
    create_user,
    csrf_token,
    issue_token,
    list_tokens,
    list_users,
    open_session,
    revoke_token,
    session_principal,
    token_principal,
)
from vigichem.accounts import tables as t
from vigichem.errors import AuthenticationRequired, Conflict, InvalidInput, NotFound
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import MasterDataFile

PASSWORD = "invented-password-1"


@pytest.fixture
def orgs(engine: Engine) -> Engine:
    """An invented operator and authority in FR."""
    MasterData(engine).load(
        MasterDataFile.model_validate(
            {
                "organisations": [
                    {"id": "shop", "name": "Shop (invented)", "country": "FR"},
                    {"id": "agency", "name": "Agency (invented)", "country": "FR", "kind": "authority"},
                ]
            }
        )
    )
    return engine


def test_passwords_are_stored_as_argon2id(orgs: Engine) -> None:
    user = create_user(orgs, "Clerk.One", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    assert user.username == "clerk.one" and user.country == "FR" and user.display_name == "clerk.one"
    with orgs.connect() as connection:
        stored = connection.scalar(select(t.users.c.password_hash).where(t.users.c.id == user.id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert authenticate(orgs, " CLERK.ONE ", PASSWORD).id == user.id


def test_wrong_password_and_unknown_user_get_one_message(orgs: Engine) -> None:
    create_user(orgs, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    messages = set()
    for username, password in (("clerk", "not-the-password"), ("nobody", PASSWORD)):
        with pytest.raises(AuthenticationRequired) as refused:
            authenticate(orgs, username, password)
        messages.add(refused.value.message)
    assert messages == {"wrong username or password"}


def test_disabling_ends_sessions_tokens_and_logins(orgs: Engine) -> None:
    user = create_user(orgs, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    key = open_session(orgs, user)
    _token, secret = issue_token(orgs, user, "till")
    change_user(orgs, user.id, disabled=True)
    with pytest.raises(AuthenticationRequired, match="disabled"):
        authenticate(orgs, "clerk", PASSWORD)
    with pytest.raises(AuthenticationRequired):
        session_principal(orgs, key)
    with pytest.raises(AuthenticationRequired):
        token_principal(orgs, secret)
    assert all(token.revoked_at is not None for token in list_tokens(orgs, user.id))


def test_sessions_expire_and_close(orgs: Engine) -> None:
    user = create_user(orgs, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    expired = open_session(orgs, user, ttl=dt.timedelta(seconds=-1))  # already past: no waiting
    with pytest.raises(AuthenticationRequired, match="expired"):
        session_principal(orgs, expired)
    live = open_session(orgs, user)
    principal = session_principal(orgs, live)
    assert principal.via == "session" and principal.can(Permission.DECIDE)
    assert principal.session_id is not None and live not in principal.session_id  # only the digest is kept
    close_session(orgs, live)
    with pytest.raises(AuthenticationRequired):
        session_principal(orgs, live)


def test_tokens_revoked_expired_and_narrowed(orgs: Engine) -> None:
    user = create_user(orgs, "officer", PASSWORD, Role.OPERATOR_COMPLIANCE, organisation="shop")
    token, secret = issue_token(orgs, user, "ERP", [Permission.EVENTS_CAPTURE, "events:read"])
    principal = token_principal(orgs, secret)
    assert principal.permissions == {Permission.EVENTS_CAPTURE, Permission.EVENTS_READ}
    assert not principal.can(Permission.CASES_READ) and principal.token_id == token.id
    with orgs.connect() as connection:
        stored = connection.scalar(select(t.api_tokens.c.token_hash).where(t.api_tokens.c.id == token.id))
    assert stored != secret and secret.startswith(token.prefix)
    revoke_token(orgs, token.id)
    with pytest.raises(AuthenticationRequired):
        token_principal(orgs, secret)
    _old, stale = issue_token(orgs, user, "old", expires_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(AuthenticationRequired):
        token_principal(orgs, stale)
    with pytest.raises(NotFound):
        revoke_token(orgs, 999_999)


@pytest.mark.parametrize(
    ("scopes", "fragment"),
    [(["users:manage"], "does not hold"), (["fly"], "scopes are"), ([], "at least one scope")],
)
def test_token_scopes_cannot_exceed_the_role(orgs: Engine, scopes: list[str], fragment: str) -> None:
    user = create_user(orgs, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    with pytest.raises(InvalidInput, match=fragment):
        issue_token(orgs, user, "too wide", scopes)


def test_a_downgraded_role_narrows_existing_tokens(orgs: Engine) -> None:
    user = create_user(orgs, "officer", PASSWORD, Role.OPERATOR_COMPLIANCE, organisation="shop")
    change_user(orgs, user.id, role=Role.OPERATOR_CLERK)  # a role change also revokes tokens
    _token, secret = issue_token(orgs, user, "after")
    assert not token_principal(orgs, secret).can(Permission.CASES_READ)


@pytest.mark.parametrize(
    ("role", "organisation", "error", "fragment"),
    [
        (Role.OPERATOR_CLERK, "agency", InvalidInput, "needs an operator organisation"),
        (Role.AUTHORITY_ANALYST, "shop", InvalidInput, "needs an authority organisation"),
        (Role.NODE_ADMIN, "shop", InvalidInput, "belongs to no organisation"),
        (Role.OPERATOR_CLERK, None, InvalidInput, "needs an organisation"),
        (Role.OPERATOR_CLERK, "ghost", NotFound, "no organisation"),
    ],
)
def test_role_must_fit_the_organisation_kind(
    orgs: Engine, role: Role, organisation: str | None, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        create_user(orgs, "someone", PASSWORD, role, organisation=organisation)
    assert list_users(orgs) == []


def test_username_conflict_and_input_checks(orgs: Engine) -> None:
    create_user(orgs, "alice", PASSWORD, Role.AUTHORITY_ANALYST, organisation="agency")
    with pytest.raises(Conflict, match="taken"):
        create_user(orgs, "ALICE", PASSWORD, Role.AUTHORITY_ANALYST, organisation="agency")
    with pytest.raises(InvalidInput, match="at least 10"):
        create_user(orgs, "bob", "short", Role.AUTHORITY_ANALYST, organisation="agency")
    with pytest.raises(InvalidInput, match="username"):
        create_user(orgs, "b o b", PASSWORD, Role.AUTHORITY_ANALYST, organisation="agency")
    with pytest.raises(InvalidInput, match="language"):
        create_user(orgs, "bob", PASSWORD, Role.AUTHORITY_ANALYST, organisation="agency", language="de")
    with pytest.raises(InvalidInput, match="role"):
        create_user(orgs, "bob", PASSWORD, "pilot", organisation="agency")
    assert [user.username for user in list_users(orgs)] == ["alice"]


def test_password_change_ends_old_credentials(orgs: Engine) -> None:
    user = create_user(orgs, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")
    key = open_session(orgs, user)
    change_user(orgs, user.id, password="another-invented-password")
    with pytest.raises(AuthenticationRequired):
        session_principal(orgs, key)
    with pytest.raises(AuthenticationRequired):
        authenticate(orgs, "clerk", PASSWORD)
    assert authenticate(orgs, "clerk", "another-invented-password").id == user.id


def test_csrf_token_is_bound_to_the_session_and_the_secret() -> None:
    token = csrf_token("secret-one", "session-a")
    assert check_csrf("secret-one", "session-a", token)
    assert not check_csrf("secret-one", "session-b", token)
    assert not check_csrf("secret-two", "session-a", token)
    assert not check_csrf("secret-one", "session-a", None)
