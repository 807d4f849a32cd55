"""Accounts fixtures: the migrated ``engine`` (SQLite and PostgreSQL) and the API tests' invented world."""

from __future__ import annotations

from tests.api.conftest import world, world_url  # noqa: F401 (fixtures)
from tests.ledger.conftest import database_url, engine  # noqa: F401 (fixtures)
