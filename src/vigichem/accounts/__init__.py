"""Accounts, sessions, API tokens and the node's access policy. See ``docs/accounts.md``.

Users log in with a password (argon2id) and get a session cookie; machines use scoped, revocable API tokens.
:mod:`vigichem.accounts.policy` holds every access rule: the permissions of each :class:`Role` and the SQL
conditions that confine each principal to its own organisation (an operator) or country (an authority).
"""

from vigichem.accounts import policy
from vigichem.accounts.models import ApiToken, Permission, Principal, Role, TenantKind, User
from vigichem.accounts.service import (
    LANGUAGES,
    MIN_PASSWORD_LENGTH,
    PRINCIPAL_CACHE_TTL,
    SESSION_TTL,
    PrincipalCache,
    authenticate,
    cached_principal,
    change_user,
    check_csrf,
    close_session,
    create_user,
    csrf_token,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    open_session,
    organisation_country,
    principal_cache,
    revoke_token,
    session_principal,
    token_principal,
)

__all__ = [
    "LANGUAGES",
    "MIN_PASSWORD_LENGTH",
    "PRINCIPAL_CACHE_TTL",
    "SESSION_TTL",
    "ApiToken",
    "Permission",
    "Principal",
    "PrincipalCache",
    "Role",
    "TenantKind",
    "User",
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
    "policy",
    "principal_cache",
    "revoke_token",
    "session_principal",
    "token_principal",
]
