"""The in-process principal cache: reused for a short while, forgotten at once when this process revokes.

Invented test data: organisation, usernames and passwords. Time is a fake clock handed to the cache (tests
never wait); the "other process" is a direct SQL update that this process's cache does not hear about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, update

from vigichem.accounts import (
    PRINCIPAL_CACHE_TTL,
    Permission,
    Principal,
    PrincipalCache,
    Role,
    User,
    cached_principal,
    change_user,
    close_session,
    create_user,
    issue_token,
    open_session,
    principal_cache,
    revoke_token,
    session_principal,
    token_principal,
)
from vigichem.accounts import tables as t
from vigichem.errors import AuthenticationRequired
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.masterdata_models import MasterDataFile

PASSWORD = "invented-password-2"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The process cache, emptied, on a fake clock (and emptied again afterwards)."""
    fake = FakeClock()
    cache = principal_cache()
    cache.clear()
    monkeypatch.setattr(cache, "clock", fake)
    yield fake
    cache.clear()


@pytest.fixture
def clerk(engine: Engine) -> User:
    """A clerk of an invented shop."""
    MasterData(engine).load(
        MasterDataFile.model_validate(
            {"organisations": [{"id": "shop", "name": "Shop (invented)", "country": "FR"}]}
        )
    )
    return create_user(engine, "clerk", PASSWORD, Role.OPERATOR_CLERK, organisation="shop")


def _revoke_elsewhere(engine: Engine, token_id: int) -> None:
    """What another process's revocation leaves behind: the row changed, this process's cache untold."""
    with engine.begin() as connection:
        connection.execute(
            update(t.api_tokens)
            .where(t.api_tokens.c.id == token_id)
            .values(revoked_at=t.api_tokens.c.created_at)
        )


def test_a_token_is_looked_up_once_per_ttl(engine: Engine, clerk: User, clock: FakeClock) -> None:
    token, secret = issue_token(engine, clerk, "till", [Permission.DECIDE])
    assert cached_principal(engine, token=secret) is None
    first = token_principal(engine, secret)
    assert cached_principal(engine, token=secret) is first
    # Another process revokes it: this process keeps the principal until the TTL runs out, no longer.
    _revoke_elsewhere(engine, token.id)
    clock.now += PRINCIPAL_CACHE_TTL / 2
    assert token_principal(engine, secret) is first
    clock.now += PRINCIPAL_CACHE_TTL
    assert cached_principal(engine, token=secret) is None
    with pytest.raises(AuthenticationRequired):
        token_principal(engine, secret)


def test_a_revoked_token_is_refused_at_once(engine: Engine, clerk: User, clock: FakeClock) -> None:
    token, secret = issue_token(engine, clerk, "till")
    other, other_secret = issue_token(engine, clerk, "second till")
    token_principal(engine, secret)
    token_principal(engine, other_secret)
    revoke_token(engine, token.id)
    assert cached_principal(engine, token=secret) is None
    with pytest.raises(AuthenticationRequired):
        token_principal(engine, secret)
    assert token_principal(engine, other_secret).token_id == other.id  # the other token still works


def test_a_disabled_user_is_refused_at_once(engine: Engine, clerk: User, clock: FakeClock) -> None:
    _token, secret = issue_token(engine, clerk, "till")
    key = open_session(engine, clerk)
    token_principal(engine, secret)
    session_principal(engine, key)
    change_user(engine, clerk.id, disabled=True)
    assert cached_principal(engine, token=secret) is None
    assert cached_principal(engine, session_key=key) is None
    with pytest.raises(AuthenticationRequired):
        token_principal(engine, secret)
    with pytest.raises(AuthenticationRequired):
        session_principal(engine, key)


def test_a_changed_user_is_read_again(engine: Engine, clerk: User, clock: FakeClock) -> None:
    key = open_session(engine, clerk)
    assert session_principal(engine, key).user.display_name == "clerk"
    change_user(engine, clerk.id, display_name="Clerk (invented)")
    assert session_principal(engine, key).user.display_name == "Clerk (invented)"


def test_a_closed_session_is_refused_at_once(engine: Engine, clerk: User, clock: FakeClock) -> None:
    key = open_session(engine, clerk)
    other = open_session(engine, clerk)
    session_principal(engine, key)
    session_principal(engine, other)
    close_session(engine, key)
    with pytest.raises(AuthenticationRequired):
        session_principal(engine, key)
    assert cached_principal(engine, session_key=other) is not None  # only that session ended


def _principal(user_id: int, token_id: int | None = None) -> Principal:
    user = User(
        id=user_id,
        username=f"user{user_id}",
        display_name=f"user{user_id}",
        role=Role.OPERATOR_CLERK,
        organisation="shop",
        country="FR",
        language="en",
        disabled=False,
        created_at=dt.datetime(2026, 1, 1),
    )
    return Principal(user=user, permissions=frozenset(), via="token", token_id=token_id)


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    fake = FakeClock()
    cache = PrincipalCache(ttl=5.0, size=2, clock=fake)
    keys = [("sqlite://", "token", str(n)) for n in range(3)]
    cache.put(keys[0], _principal(1), cache.generation)
    cache.put(keys[1], _principal(2), cache.generation)
    assert cache.get(keys[0]) is not None  # used: the other one is now the oldest
    cache.put(keys[2], _principal(3), cache.generation)
    assert len(cache) == 2 and cache.get(keys[1]) is None and cache.get(keys[0]) is not None


def test_the_cache_honours_short_lifetimes_and_late_answers() -> None:
    fake = FakeClock()
    cache = PrincipalCache(ttl=5.0, size=10, clock=fake)
    key = ("sqlite://", "token", "a")
    cache.put(key, _principal(1), cache.generation, lifetime=1.0)  # e.g. a token expiring in a second
    fake.now += 1.5
    assert cache.get(key) is None
    cache.put(key, _principal(1), cache.generation, lifetime=-3.0)  # already expired: never stored
    assert cache.get(key) is None
    started = cache.generation  # a look-up begins ...
    cache.drop(lambda _key, principal: principal.user.id == 1)  # ... a revocation happens meanwhile ...
    cache.put(key, _principal(1), started)  # ... and its answer, read before it, is not kept
    assert cache.get(key) is None
