"""Shared ledger fixtures: a migrated database on SQLite and on PostgreSQL, a node, a store, documents.

``engine`` (and everything built on it) is parametrised over ``sqlite`` (a file under ``tmp_path``) and
``postgresql``. Each PostgreSQL test gets its own schema in the server's database, created before the
test and dropped after it, so parallel runs by other engineers and CI never collide. The server URL comes
from ``VIGICHEM_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When
the server is unreachable the PostgreSQL variants are skipped with the reason, or fail when
``VIGICHEM_REQUIRE_POSTGRES=1`` (CI).

``database_url`` gives the URL of the same database (with the schema on the search path), for tests that
start subprocesses or the CLI.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.shared_data import OFFICIAL_EPCIS_EXAMPLES
from vigichem.ledger.db import create_engine_from_url, migrate
from vigichem.ledger.node import Node, init_node
from vigichem.ledger.store import LedgerStore

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EPCIS_EXAMPLES = OFFICIAL_EPCIS_EXAMPLES


def postgres_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("VIGICHEM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@cache
def postgres_unreachable_reason() -> str | None:
    """None when the test server answers, else why not (checked once per session)."""
    url = postgres_url()
    try:
        probe = create_engine(url, connect_args={"connect_timeout": 5})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {url} ({first_line}): set VIGICHEM_TEST_POSTGRES_URL"
    return None


def require_postgres() -> None:
    """Skip (or fail under ``VIGICHEM_REQUIRE_POSTGRES=1``) when the PostgreSQL server is unreachable."""
    reason = postgres_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("VIGICHEM_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"VIGICHEM_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _schema_url(schema: str) -> str:
    url = make_url(postgres_url())
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    require_postgres()
    schema = f"vigichem_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated ledger database (SQLite and PostgreSQL)."""
    created = create_engine_from_url(database_url)
    migrate(created)
    try:
        yield created
    finally:
        created.dispose()


def example_documents() -> list[Path]:
    """Every official GS1 EPCIS 2.0 JSON/JSON-LD example document (the query document excluded)."""
    return sorted(
        path
        for path in EPCIS_EXAMPLES.rglob("*.jsonld")
        if json.loads(path.read_text(encoding="utf-8")).get("type") == "EPCISDocument"
    )


def load_example(name: str) -> dict[str, Any]:
    """One official example document by file name."""
    matches = list(EPCIS_EXAMPLES.rglob(name))
    assert matches, f"no official example named {name}"
    loaded: dict[str, Any] = json.loads(matches[0].read_text(encoding="utf-8"))
    return loaded


# -- nodes, stores and documents ---------------------------------------------------------------------------

INVENTED = "invented test data"  # marks every document below that is not an official GS1 example


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """An initialised node (key in ``tmp_path / 'node'``) on the parametrised database."""
    created = init_node(tmp_path / "node", "Test node", "FR", database_url=database_url)
    try:
        yield created
    finally:
        created.close()


@pytest.fixture
def store(node: Node) -> LedgerStore:
    """The node's ledger store."""
    return node.store


def shipment_event(index: int, *, kg: float = 25.0, biz_step: str = "shipping") -> dict[str, Any]:
    """An invented ObjectEvent (a shipment of ``kg`` of a lot); ``index`` makes it unique."""
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": "in_transit",
        "eventTime": f"2026-03-01T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00001.0"},
        "quantityList": [
            {"epcClass": f"urn:epc:class:lgtin:0614141.107346.LOT{index}", "quantity": kg, "uom": "KGM"}
        ],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00002"}],
        "vc:customerRef": f"pty-test-{index % 7}",
    }


def make_document(count: int, start: int = 0) -> dict[str, Any]:
    """An invented EPCISDocument of ``count`` distinct shipment events (indexes ``start``...)."""
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"vc": "https://vigichem.org/epcis/ext/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T12:00:00.000+01:00",
        "epcisBody": {"eventList": [shipment_event(start + i) for i in range(count)]},
    }


@contextmanager
def capturing_in_background(node: Node) -> Iterator[None]:
    """Another thread keeps capturing 5-event documents while the block runs; its errors fail the test."""
    from vigichem.ledger.service import capture

    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_capturing() -> None:
        start = 1000
        try:
            while not stop.is_set():
                capture(node.store, make_document(5, start), signer=node.signer)
                start += 5
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    writer = threading.Thread(target=keep_capturing)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()
    assert errors == []
