"""Detection fixtures: the ledger's migrated database (SQLite and PostgreSQL) with invented master data."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.detect.factories import masterdata
from tests.ledger.conftest import database_url, engine, node, store  # noqa: F401  (fixtures)
from vigichem.ledger.masterdata import MasterData
from vigichem.ledger.store import LedgerStore


@pytest.fixture
def loaded(store: LedgerStore) -> LedgerStore:  # noqa: F811
    """A store whose database holds the invented master data of :mod:`tests.detect.factories`."""
    MasterData(store.engine).load(masterdata())
    return store


@pytest.fixture
def db(loaded: LedgerStore) -> Engine:
    """The engine of the loaded store."""
    return loaded.engine
