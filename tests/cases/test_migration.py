"""Migration 0003 goes down to 0002 (triggers and tables gone) and up again (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from tests.cases.factories import alert
from vigichem.cases import record_alerts, verify_audit
from vigichem.ledger.db import migrate

CASE_TABLES = {"cases", "case_alerts", "case_evidence", "case_audit"}


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "vigichem.ledger:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_down_and_up_again(engine: Engine) -> None:
    # Later revisions (if any) come off first; 0003's own downgrade must leave 0002 intact.
    _downgrade(engine, "0002")
    assert not CASE_TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= CASE_TABLES
    record_alerts(engine, [alert()])
    assert verify_audit(engine).ok
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM case_audit"))
