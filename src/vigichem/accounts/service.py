"""Account operations: users with argon2id passwords, browser sessions, API tokens and CSRF tokens.

Secrets leave this module once (a session key for the cookie, a token for its owner) and are stored only as
SHA-256 digests, so a copy of the database lets nobody in. Who may call what is for
:mod:`vigichem.accounts.policy` and the API to decide; these functions check the data itself (a role fits its
organisation, a username is free, a password is long enough).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, Connection, Engine, Row, insert, select, true, update
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from vigichem.accounts import tables as t
from vigichem.accounts.models import ApiToken, Permission, Principal, Role, TenantKind, User
from vigichem.accounts.policy import effective_permissions
from vigichem.errors import AuthenticationRequired, Conflict, InvalidInput, NotFound
from vigichem.ledger.inventory_tables import organisations

__all__ = [
    "LANGUAGES",
    "MIN_PASSWORD_LENGTH",
    "PRINCIPAL_CACHE_TTL",
    "SESSION_TTL",
    "PrincipalCache",
    "authenticate",
    "cached_principal",
    "change_user",
    "check_csrf",
    "close_session",
    "create_user",
    "csrf_token",
    "get_user",
    "issue_token",
    "list_tokens",
    "list_users",
    "open_session",
    "organisation_country",
    "principal_cache",
    "revoke_token",
    "session_principal",
    "token_principal",
]

MIN_PASSWORD_LENGTH = 10
SESSION_TTL = dt.timedelta(hours=12)
LANGUAGES = ("en", "fr")
TOKEN_PREFIX = "vgc_"
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)  # spares a write on every request of a busy token
_HASHER = PasswordHasher()
# Verified when the username is unknown, so that a login takes as long whether the user exists or not.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# ---- the principal cache --------------------------------------------------------------------------------

PRINCIPAL_CACHE_TTL = 5.0
"""Seconds a looked-up token or session principal is reused without reading the database again.

Revoking a token, changing or disabling a user and closing a session through this module drop the cached
principals at once in this process. Another process (a CLI command, a second server worker) cannot reach this
cache: there a revoked token or a disabled account keeps working for at most this long."""

PRINCIPAL_CACHE_SIZE = 1024
"""Entries kept at most (least recently used ones go first)."""

_CacheKey = tuple[str, str, str]  # (database URL, "token" or "session", digest of the secret)


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    valid_until: float  # on the cache's monotonic clock


class PrincipalCache:
    """Principals by credential digest, each for at most ``ttl`` seconds; safe to share between threads.

    Every invalidation bumps a generation number; a lookup that started before it does not store its
    answer, so that a principal read just before a revocation cannot be put back after it.
    """

    def __init__(
        self,
        ttl: float = PRINCIPAL_CACHE_TTL,
        size: int = PRINCIPAL_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[_CacheKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: _CacheKey) -> Principal | None:
        """The live principal cached under ``key``, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.valid_until <= self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.principal

    def put(
        self, key: _CacheKey, principal: Principal, generation: int, lifetime: float | None = None
    ) -> None:
        """Keep ``principal`` for ``ttl`` seconds (or ``lifetime``, if shorter), unless invalidated since
        ``generation`` was read."""
        seconds = self.ttl if lifetime is None else min(self.ttl, lifetime)
        if seconds <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._entries[key] = _Entry(principal, self.clock() + seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, matches: Callable[[_CacheKey, Principal], bool]) -> None:
        """Forget every entry ``matches`` selects (in any database: forgetting too much only costs a read)."""
        with self._lock:
            self.generation += 1
            for key in [k for k, entry in self._entries.items() if matches(k, entry.principal)]:
                del self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        self.drop(lambda _key, _principal: True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_CACHE = PrincipalCache()


def principal_cache() -> PrincipalCache:
    """The process's principal cache (for tests and for an operator who wants to empty it)."""
    return _CACHE


def _key(engine: Engine, kind: str, digest: str) -> _CacheKey:
    # The URL keeps apart nodes served by one process (tests open many); the password is not in it.
    return (engine.url.render_as_string(hide_password=True), kind, digest)


def cached_principal(
    engine: Engine, *, token: str | None = None, session_key: str | None = None
) -> Principal | None:
    """The cached principal of an API token or a session key, or None (then look it up: no database here).

    Cheap enough to call on the event loop: a SHA-256 and a dictionary look-up.
    """
    if token is not None:
        return _CACHE.get(_key(engine, "token", _digest(token)))
    if session_key is not None:
        return _CACHE.get(_key(engine, "session", _digest(session_key)))
    return None


def _user(row: Row[object]) -> User:
    data = row._mapping
    return User(
        id=data["id"],
        username=data["username"],
        display_name=data["display_name"],
        role=Role(data["role"]),
        organisation=data["organisation_id"],
        country=data["country"],
        language=data["language"],
        disabled=bool(data["disabled"]),
        created_at=data["created_at"],
    )


def _select_users(connection: Connection, condition: ColumnElement[bool]) -> list[User]:
    query = select(t.users, organisations.c.country).select_from(
        t.users.outerjoin(organisations, organisations.c.id == t.users.c.organisation_id)
    )
    return [_user(row) for row in connection.execute(query.where(condition).order_by(t.users.c.id))]


def organisation_country(engine: Engine, organisation: str | None) -> str | None:
    """The country of a master-data organisation (None for no organisation or an unknown one)."""
    if organisation is None:
        return None
    with engine.connect() as connection:
        country = connection.scalar(select(organisations.c.country).where(organisations.c.id == organisation))
    return None if country is None else str(country)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    return language


def _check_organisation(connection: Connection, role: Role, organisation: str | None) -> None:
    """A role belongs to an organisation of its kind; a node administrator to none."""
    kind = role.tenant_kind
    if kind is TenantKind.NODE:
        if organisation is not None:
            raise InvalidInput("a node administrator belongs to no organisation")
        return
    if organisation is None:
        raise InvalidInput(f"the role {role} needs an organisation (an {kind} in the master data)")
    org_kind = connection.scalar(select(organisations.c.kind).where(organisations.c.id == organisation))
    if org_kind is None:
        raise NotFound(f"no organisation {organisation!r}", details={"organisation": organisation})
    if org_kind != str(kind):
        raise InvalidInput(f"the role {role} needs an {kind} organisation; {organisation!r} is an {org_kind}")


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: Role | str,
    *,
    organisation: str | None = None,
    display_name: str | None = None,
    language: str = "en",
) -> User:
    """Create an account; :class:`Conflict` when the username is taken."""
    name = username.strip().lower()
    if not _USERNAME_RE.match(name):
        raise InvalidInput(
            f"username {username!r}: 3-64 lower-case letters, digits, '.', '_' or '-', starting with one of "
            "the first two"
        )
    try:
        the_role = Role(role)
    except ValueError:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(Role)}") from None
    _check_password(password)
    with engine.begin() as connection:
        _check_organisation(connection, the_role, organisation)
        try:
            new_id = connection.execute(
                insert(t.users).values(
                    username=name,
                    display_name=(display_name or name).strip() or name,
                    password_hash=_HASHER.hash(password),
                    role=str(the_role),
                    organisation_id=organisation,
                    language=_check_language(language),
                    disabled=False,
                    created_at=_now(),
                )
            ).inserted_primary_key
        except SQLIntegrityError:
            raise Conflict(f"the username {name!r} is taken", details={"username": name}) from None
        assert new_id is not None
        return _select_users(connection, t.users.c.id == new_id[0])[0]


def get_user(engine: Engine, user_id: int) -> User:
    """One account (:class:`NotFound` when absent)."""
    with engine.connect() as connection:
        found = _select_users(connection, t.users.c.id == user_id)
    if not found:
        raise NotFound(f"no user {user_id}", details={"user": user_id})
    return found[0]


def list_users(engine: Engine, condition: ColumnElement[bool] | None = None) -> list[User]:
    """Accounts matching ``condition`` (on ``users`` joined to ``organisations``), oldest first."""
    with engine.connect() as connection:
        return _select_users(connection, true() if condition is None else condition)


def change_user(
    engine: Engine,
    user_id: int,
    *,
    role: Role | str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    display_name: str | None = None,
    language: str | None = None,
) -> User:
    """Change an account; disabling it or changing its password ends its sessions and revokes its tokens."""
    values: dict[str, object] = {}
    current = get_user(engine, user_id)
    new_role: Role | None = None
    if role is not None:
        try:
            new_role = Role(role)
        except ValueError:
            raise InvalidInput(f"role {role!r} is not one of {', '.join(Role)}") from None
        values["role"] = str(new_role)
    if disabled is not None:
        values["disabled"] = disabled
    if password is not None:
        _check_password(password)
        values["password_hash"] = _HASHER.hash(password)
    if display_name is not None:
        if not display_name.strip():
            raise InvalidInput("a display name cannot be empty")
        values["display_name"] = display_name.strip()
    if language is not None:
        values["language"] = _check_language(language)
    with engine.begin() as connection:
        if new_role is not None:
            _check_organisation(connection, new_role, current.organisation)
        if values:
            connection.execute(update(t.users).where(t.users.c.id == user_id).values(**values))
        if disabled or password is not None or new_role is not None:
            _end_credentials(connection, user_id)
    # Any change shows in the principal (role, name, language) or ends it: forget the cached ones.
    _CACHE.drop(lambda _key, principal: principal.user.id == user_id)
    return get_user(engine, user_id)


def _end_credentials(connection: Connection, user_id: int) -> None:
    connection.execute(t.sessions.delete().where(t.sessions.c.user_id == user_id))
    connection.execute(
        update(t.api_tokens)
        .where(t.api_tokens.c.user_id == user_id, t.api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def authenticate(engine: Engine, username: str, password: str) -> User:
    """The account whose password this is; else :class:`AuthenticationRequired` (one message for all)."""
    refused = AuthenticationRequired("wrong username or password")
    with engine.connect() as connection:
        row = connection.execute(
            select(t.users.c.id, t.users.c.password_hash, t.users.c.disabled).where(
                t.users.c.username == username.strip().lower()
            )
        ).first()
    if row is None:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
        raise refused
    try:
        _HASHER.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise refused from None
    if row.disabled:
        raise AuthenticationRequired("this account is disabled")
    if _HASHER.check_needs_rehash(row.password_hash):
        with engine.begin() as connection:
            connection.execute(
                update(t.users).where(t.users.c.id == row.id).values(password_hash=_HASHER.hash(password))
            )
    return get_user(engine, row.id)


def open_session(engine: Engine, user: User, ttl: dt.timedelta = SESSION_TTL) -> str:
    """Start a browser session; returns the session key to put in the cookie (stored only as its digest)."""
    key = secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as connection:
        connection.execute(
            insert(t.sessions).values(id=_digest(key), user_id=user.id, created_at=now, expires_at=now + ttl)
        )
    return key


def close_session(engine: Engine, key: str) -> None:
    """End a session (logging out); unknown keys are ignored."""
    session_id = _digest(key)
    with engine.begin() as connection:
        connection.execute(t.sessions.delete().where(t.sessions.c.id == session_id))
    _CACHE.drop(lambda cache_key, _principal: cache_key[1:] == ("session", session_id))


def _active_user(connection: Connection, user_id: int) -> User:
    found = _select_users(connection, t.users.c.id == user_id)
    if not found or found[0].disabled:
        raise AuthenticationRequired("this account is disabled")
    return found[0]


def session_principal(engine: Engine, key: str) -> Principal:
    """The principal of a live session; :class:`AuthenticationRequired` when it is unknown or expired."""
    session_id = _digest(key)
    cache_key = _key(engine, "session", session_id)
    if (cached := _CACHE.get(cache_key)) is not None:
        return cached
    generation = _CACHE.generation
    now = _now()
    with engine.connect() as connection:
        row = connection.execute(
            select(t.sessions.c.user_id, t.sessions.c.expires_at).where(t.sessions.c.id == session_id)
        ).first()
        if row is None or row.expires_at <= now:
            raise AuthenticationRequired("the session has expired: log in again")
        user = _active_user(connection, row.user_id)
    permissions = effective_permissions(user.role)
    principal = Principal(user=user, permissions=permissions, via="session", session_id=session_id)
    _CACHE.put(cache_key, principal, generation, (row.expires_at - now).total_seconds())
    return principal


def _token(row: Row[object]) -> ApiToken:
    data = row._mapping
    return ApiToken(
        id=data["id"],
        user_id=data["user_id"],
        name=data["name"],
        prefix=data["prefix"],
        scopes=frozenset(Permission(scope) for scope in str(data["scopes"]).split()),
        created_at=data["created_at"],
        expires_at=data["expires_at"],
        revoked_at=data["revoked_at"],
        last_used_at=data["last_used_at"],
    )


def issue_token(
    engine: Engine,
    user: User,
    name: str,
    scopes: Iterable[Permission | str] | None = None,
    *,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue an API token for ``user`` with ``scopes`` (default: all of the role's permissions).

    Returns the record and the secret, which is shown this once and never stored.
    """
    if not name.strip():
        raise InvalidInput("a token needs a name (what uses it, e.g. 'ERP at site 3')")
    try:
        wanted = None if scopes is None else [Permission(scope) for scope in scopes]
    except ValueError as exc:
        raise InvalidInput(f"{exc}; scopes are {', '.join(Permission)}") from None
    granted = effective_permissions(user.role, wanted)
    if not granted:
        raise InvalidInput("a token needs at least one scope")
    if expires_at is not None and expires_at.tzinfo is not None:
        expires_at = expires_at.astimezone(dt.UTC).replace(tzinfo=None)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        new_id = connection.execute(
            insert(t.api_tokens).values(
                user_id=user.id,
                name=name.strip(),
                prefix=secret[:12],
                token_hash=_digest(secret),
                scopes=" ".join(sorted(str(scope) for scope in granted)),
                created_at=_now(),
                expires_at=expires_at,
            )
        ).inserted_primary_key
        assert new_id is not None
        row = connection.execute(select(t.api_tokens).where(t.api_tokens.c.id == new_id[0])).one()
    return _token(row), secret


def token_principal(engine: Engine, secret: str) -> Principal:
    """The principal of a live API token; :class:`AuthenticationRequired` when unknown, revoked or expired."""
    digest = _digest(secret)
    cache_key = _key(engine, "token", digest)
    if (cached := _CACHE.get(cache_key)) is not None:
        return cached  # last_used_at is written on the look-ups between cache hits, once a minute at most
    generation = _CACHE.generation
    now = _now()
    with engine.connect() as connection:
        row = connection.execute(select(t.api_tokens).where(t.api_tokens.c.token_hash == digest)).first()
        expired = row is not None and row.expires_at is not None and row.expires_at <= now
        if row is None or row.revoked_at is not None or expired:
            raise AuthenticationRequired("the API token is unknown, revoked or expired")
        token = _token(row)
        user = _active_user(connection, token.user_id)
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
        with engine.begin() as connection:
            connection.execute(
                update(t.api_tokens).where(t.api_tokens.c.id == token.id).values(last_used_at=now)
            )
    # The role may have lost permissions since the token was issued: the token never outgrows it.
    permissions = token.scopes & effective_permissions(user.role)
    principal = Principal(user=user, permissions=permissions, via="token", token_id=token.id)
    lifetime = None if token.expires_at is None else (token.expires_at - now).total_seconds()
    _CACHE.put(cache_key, principal, generation, lifetime)
    return principal


def list_tokens(engine: Engine, user_id: int | None = None) -> list[ApiToken]:
    """Tokens (of one user, or all), oldest first; revoked ones included, marked so."""
    query = select(t.api_tokens).order_by(t.api_tokens.c.id)
    if user_id is not None:
        query = query.where(t.api_tokens.c.user_id == user_id)
    with engine.connect() as connection:
        return [_token(row) for row in connection.execute(query)]


def revoke_token(engine: Engine, token_id: int) -> ApiToken:
    """Revoke a token (idempotent); :class:`NotFound` when it does not exist."""
    with engine.begin() as connection:
        connection.execute(
            update(t.api_tokens)
            .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        row = connection.execute(select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()
    _CACHE.drop(lambda _key, principal: principal.token_id == token_id)
    if row is None:
        raise NotFound(f"no API token {token_id}", details={"token": token_id})
    return _token(row)


def csrf_token(secret_key: str, session_id: str) -> str:
    """The CSRF token of a session: an HMAC of its id under the node's secret (nothing to store)."""
    return hmac.new(secret_key.encode("utf-8"), session_id.encode("ascii"), hashlib.sha256).hexdigest()


def check_csrf(secret_key: str, session_id: str, presented: str | None) -> bool:
    """Whether ``presented`` is the session's CSRF token (compared in constant time)."""
    return presented is not None and hmac.compare_digest(csrf_token(secret_key, session_id), presented)
