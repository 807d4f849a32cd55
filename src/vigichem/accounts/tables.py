"""SQLAlchemy Core tables of accounts (created by migration ``0004``), on the ledger's metadata.

Secrets are never stored: passwords as argon2id hashes, session keys and API tokens as SHA-256 digests.
Timestamps are naive UTC, as everywhere in the node's database.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from vigichem.ledger.db import metadata

__all__ = ["api_tokens", "sessions", "users"]

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("organisation_id", String(64), ForeignKey("organisations.id"), nullable=True),
    Column("language", String(2), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

sessions = Table(
    "user_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 (hex) of the cookie's session key
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_user_sessions_user_id", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 (hex) of the whole token
    Column("scopes", Text, nullable=False),  # space-separated permission names
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    Column("last_used_at", DateTime, nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)
