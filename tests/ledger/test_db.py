"""The ledger schema: migrations build exactly the tables the metadata declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text

from vigichem.ledger.db import is_sqlite, log_state, metadata, migrate


def test_migration_matches_metadata(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migrate_is_idempotent_and_seeds_the_log_state(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(select(log_state)).one()
    assert (row.id, row.tree_size, bytes(row.frontier)) == (1, 0, b"")


def test_sqlite_runs_in_wal_with_durable_commits(engine: Engine) -> None:
    if not is_sqlite(engine):
        return
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
