"""Case fixtures: the ledger's migrated database (SQLite and PostgreSQL) and invented alerts."""

from __future__ import annotations

from tests.ledger.conftest import database_url, engine, node, store  # noqa: F401  (fixtures)
