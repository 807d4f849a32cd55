"""Database access for the ledger: engine creation, the SQLAlchemy Core tables, and migrations.

SQLite is the default (a file in the node's data directory); PostgreSQL is used when
``VIGICHEM_DATABASE_URL`` names it. SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit
that returned is on disk (an acknowledged capture survives ``kill -9`` and power loss), with foreign keys on
and a busy timeout so concurrent writers queue instead of failing.

Writers that must serialise (the ledger's append path) open their connection with
``connection.execution_options(**WRITE_LOCK)``: on SQLite their transactions start with ``BEGIN IMMEDIATE``
(the write lock is taken at the start, so two appenders cannot both read the same tree size); readers keep
SQLite's deferred transactions and never block a writer in WAL mode. PostgreSQL serialises appenders with a
row lock on :data:`log_state` instead (see :mod:`vigichem.ledger.store`).

**Table contract** (other packages write SQL against these names): ``ledger_events`` (one row per captured
event; ``seq`` is the 0-based Merkle log index = capture order), ``ledger_quantities``, ``ledger_epcs``,
``ledger_sources``, ``ledger_documents``, ``ledger_checkpoints``, ``ledger_log_state`` and ``node``.
Timestamps are naive UTC ``datetime`` values (``event_time`` is converted to UTC at capture; the original
offset is kept in ``event_time_offset``). Schema changes go through Alembic revisions in
``vigichem/ledger/migrations/versions`` (revision ``0001`` creates these tables).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

from vigichem.errors import ConfigurationError
from vigichem.settings import Settings, get_settings

__all__ = [
    "WRITE_LOCK",
    "checkpoints",
    "create_engine_from_settings",
    "create_engine_from_url",
    "documents",
    "epcs",
    "events",
    "is_postgresql",
    "is_sqlite",
    "log_state",
    "metadata",
    "migrate",
    "node",
    "quantities",
    "sources",
]

WRITE_LOCK: dict[str, Any] = {"vigichem_write_lock": True}
"""Execution options for a connection whose transactions write the ledger (SQLite: ``BEGIN IMMEDIATE``)."""

SQLITE_BUSY_TIMEOUT_MS = 60_000
"""How long a SQLite writer waits for the write lock before failing (concurrent captures queue)."""

SQLITE_CACHE_KIB = 64 * 1024
"""SQLite page cache per connection, in KiB."""

# A stable naming convention keeps constraint names identical on SQLite and PostgreSQL, so Alembic
# revisions can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

documents = Table(
    "ledger_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("epcis_document_id", Text, nullable=True),
    Column("received_at", DateTime, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("duplicate_count", Integer, nullable=False),
    Column("context_json", Text, nullable=False),
    Column("header_json", Text, nullable=True),
)

events = Table(
    "ledger_events",
    metadata,
    # On SQLite an INTEGER PRIMARY KEY is the rowid itself (64-bit): one b-tree less per insert.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hash_id", String(200), nullable=False, unique=True),
    Column("event_type", Text, nullable=False),
    Column("action", String(10), nullable=True),
    Column("event_time", DateTime, nullable=False),
    Column("event_time_offset", String(6), nullable=False),
    Column("record_time", DateTime, nullable=False),
    Column("biz_step", Text, nullable=True),
    Column("disposition", Text, nullable=True),
    Column("read_point", Text, nullable=True),
    Column("biz_location", Text, nullable=True),
    Column("party_ref", Text, nullable=True),
    Column("error_declaration", Boolean, nullable=False),
    Column("document_id", Integer, ForeignKey("ledger_documents.id"), nullable=False),
    Column("document_index", Integer, nullable=False),
    Column("event_json", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Index("ix_ledger_events_event_time", "event_time"),
    Index("ix_ledger_events_biz_step", "biz_step"),
    Index("ix_ledger_events_biz_location", "biz_location"),
    Index("ix_ledger_events_document_id", "document_id"),
    Index("ix_ledger_events_party_ref", "party_ref"),
)

# The child tables (quantities, EPCs, sources) have no foreign key to ledger_events since revision 0007:
# only the append writes them, with the seq it has just given their event, in the same transaction; the
# per-row checks cost PostgreSQL about a third of its capture work (see that revision).
quantities = Table(
    "ledger_quantities",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("role", String(10), primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("epc_class", Text, nullable=False),
    Column("quantity", Float, nullable=True),
    Column("uom", String(10), nullable=True),
    Column("base_quantity", Float, nullable=True),
    Column("base_unit", String(2), nullable=True),
    Index("ix_ledger_quantities_epc_class", "epc_class"),
    sqlite_with_rowid=False,
)

epcs = Table(
    "ledger_epcs",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("role", String(10), primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("epc", Text, nullable=False),
    Index("ix_ledger_epcs_epc", "epc"),
    sqlite_with_rowid=False,
)

sources = Table(
    "ledger_sources",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(12), primary_key=True),
    Column("ordinal", Integer, primary_key=True, autoincrement=False),
    Column("type", Text, nullable=False),
    Column("id", Text, nullable=False),
    Index("ix_ledger_sources_id", "id"),
    sqlite_with_rowid=False,
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("time", DateTime, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("key_id", String(80), nullable=False),
    Index("ix_ledger_checkpoints_tree_size", "tree_size"),
)

log_state = Table(
    "ledger_log_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
)

node = Table(
    "node",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def is_postgresql(engine: Engine) -> bool:
    """Whether the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event own transaction starts (pysqlite would otherwise BEGIN lazily).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # The hash-ID index takes random inserts: a page cache well above SQLite's 2 MiB default keeps it
        # in memory (allocated only as used).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("vigichem_write_lock", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine_from_url(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the ledger's settings (SQLite pragmas; PostgreSQL pre-ping)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise ConfigurationError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _install_sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise ConfigurationError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def create_engine_from_settings(settings: Settings | None = None) -> Engine:
    """The engine for the node's database (``VIGICHEM_DATABASE_URL`` or SQLite in the data directory)."""
    settings = settings or get_settings()
    return create_engine_from_url(settings.resolved_database_url)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` by running the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "vigichem.ledger:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


# The inventory tables live in their own module but on the same metadata; importing it here makes
# ``metadata`` complete wherever the database layer is used (it imports this module, hence the bottom).
from vigichem.ledger import inventory_tables as _inventory_tables  # noqa: E402, F401
