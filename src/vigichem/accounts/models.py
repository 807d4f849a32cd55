"""Typed records of accounts: roles, permissions, users, API tokens and the authenticated principal.

Which role holds which permission, and what a principal may see of other organisations' data, is decided in
one place only: :mod:`vigichem.accounts.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["ApiToken", "Permission", "Principal", "Role", "TenantKind", "User"]


class Role(StrEnum):
    """The five roles of a node (``docs/accounts.md`` describes who holds each)."""

    OPERATOR_CLERK = "operator_clerk"
    OPERATOR_COMPLIANCE = "operator_compliance"
    AUTHORITY_ANALYST = "authority_analyst"
    AUTHORITY_ADMIN = "authority_admin"
    NODE_ADMIN = "node_admin"

    @property
    def tenant_kind(self) -> TenantKind:
        """The kind of organisation a user of this role belongs to."""
        if self in (Role.OPERATOR_CLERK, Role.OPERATOR_COMPLIANCE):
            return TenantKind.OPERATOR
        if self in (Role.AUTHORITY_ANALYST, Role.AUTHORITY_ADMIN):
            return TenantKind.AUTHORITY
        return TenantKind.NODE


class TenantKind(StrEnum):
    """What a user's data scope hangs on: an operator organisation, an authority (a country) or the node."""

    OPERATOR = "operator"
    AUTHORITY = "authority"
    NODE = "node"


class Permission(StrEnum):
    """One thing a request may do. API token scopes are permission names."""

    SCREEN = "screen"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    EVENTS_READ = "events:read"
    EVENTS_CAPTURE = "events:capture"
    BALANCE_READ = "balance:read"
    DECIDE = "decide"
    ALERTS_READ = "alerts:read"
    CASES_READ = "cases:read"
    CASES_ACT = "cases:act"
    REPORTS_READ = "reports:read"
    PERSONAL_DATA_READ = "personal-data:read"
    DETECT_RUN = "detect:run"
    LEDGER_READ = "ledger:read"
    LEDGER_VERIFY = "ledger:verify"
    USERS_MANAGE = "users:manage"
    TOKENS_MANAGE = "tokens:manage"


@dataclass(frozen=True, slots=True)
class User:
    """An account. ``organisation`` is the master-data organisation id (None for a node administrator)."""

    id: int
    username: str
    display_name: str
    role: Role
    organisation: str | None
    country: str | None
    language: str
    disabled: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form (no secret in it)."""
        return {
            "id": self.id,
            "username": self.username,
            "displayName": self.display_name,
            "role": str(self.role),
            "organisation": self.organisation,
            "country": self.country,
            "language": self.language,
            "disabled": self.disabled,
            "createdAt": self.created_at.isoformat() + "Z",
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A machine credential. Only its SHA-256 is stored; ``prefix`` (its first characters) identifies it."""

    id: int
    user_id: int
    name: str
    prefix: str
    scopes: frozenset[Permission]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (never the secret)."""

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat() + "Z"

        return {
            "id": self.id,
            "userId": self.user_id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": sorted(str(scope) for scope in self.scopes),
            "createdAt": iso(self.created_at),
            "expiresAt": iso(self.expires_at),
            "revokedAt": iso(self.revoked_at),
            "lastUsedAt": iso(self.last_used_at),
        }


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: the user, how they authenticated, and what they may do.

    ``permissions`` is the role's permissions, narrowed to the token's scopes for a token. ``session_id``
    is the hashed session key of a browser session (it binds the CSRF token), None for a token.
    """

    user: User
    permissions: frozenset[Permission]
    via: str  # "session" or "token"
    session_id: str | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """The name audit trails and access logs record."""
        return self.user.username

    def can(self, permission: Permission) -> bool:
        """Whether the principal holds ``permission``."""
        return permission in self.permissions
