"""LedgerStore and node: atomic appends, duplicates, gap-free seq, index rows, checkpoints, node key."""

from __future__ import annotations

import os
import random
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from tests.ledger.conftest import make_document, shipment_event
from vigichem.errors import InvalidInput, NotFound
from vigichem.ledger import merkle
from vigichem.ledger.checkpoints import signature_valid
from vigichem.ledger.db import (
    create_engine_from_url,
    documents,
    epcs,
    events,
    migrate,
    quantities,
    sources,
)
from vigichem.ledger.indexing import parse_event_time
from vigichem.ledger.node import KEY_FILE, Node, init_node, load_node
from vigichem.ledger.service import capture, prepare
from vigichem.ledger.store import LedgerStore
from vigichem.settings import Settings


def test_append_assigns_gap_free_seq_and_signs_each_capture(node: Node) -> None:
    first = capture(node.store, make_document(3), signer=node.signer)
    second = capture(node.store, make_document(2, start=3), signer=node.signer)
    assert (first.first_seq, first.tree_size, second.first_seq, second.tree_size) == (0, 3, 3, 5)
    with node.engine.connect() as connection:
        seqs = list(connection.execute(select(events.c.seq).order_by(events.c.seq)).scalars())
    assert seqs == [0, 1, 2, 3, 4]
    assert second.checkpoint is not None
    assert signature_valid(second.checkpoint, node.identity.public_key)
    leaves = [merkle.event_leaf_hash(h) for h in first.new + second.new]
    assert second.checkpoint.root == merkle.root_hash(leaves)
    assert node.store.log_state() == (5, merkle.root_hash(leaves))


def test_duplicates_are_reported_and_not_stored(node: Node) -> None:
    capture(node.store, make_document(3), signer=node.signer)
    checkpoints_before = len(node.store.checkpoints())
    again = capture(node.store, make_document(3), signer=node.signer)
    assert again.new == [] and len(again.duplicates) == 3 and again.tree_size == 3
    assert len(node.store.checkpoints()) == checkpoints_before  # a no-op signs nothing
    mixed = capture(node.store, make_document(5), signer=node.signer)
    assert len(mixed.new) == 2 and len(mixed.duplicates) == 3 and mixed.tree_size == 5
    assert node.store.event_count() == 5


def test_a_repeated_event_inside_one_document_is_stored_once(node: Node) -> None:
    document = make_document(2)
    document["epcisBody"]["eventList"].append(shipment_event(0))
    result = capture(node.store, document, signer=node.signer)
    assert len(result.new) == 2 and result.duplicates == [result.new[0]]


def test_index_rows_are_written(node: Node) -> None:
    capture(node.store, make_document(2), signer=node.signer)
    with node.engine.connect() as connection:
        row = connection.execute(select(events).where(events.c.seq == 1)).one()
        quantity = connection.execute(select(quantities).where(quantities.c.seq == 1)).one()
        party_rows = connection.execute(
            select(sources).where(sources.c.seq == 1).order_by(sources.c.kind)
        ).all()
        epc_count = connection.execute(select(func.count()).select_from(epcs)).scalar_one()
    assert (row.biz_step, row.disposition, row.party_ref) == ("shipping", "in_transit", "pty-test-1")
    assert row.event_time.isoformat() == "2026-02-28T23:00:01"  # +01:00 converted to UTC
    assert (quantity.role, quantity.quantity, quantity.uom) == ("quantity", 25.0, "KGM")
    assert (quantity.base_quantity, quantity.base_unit) == (25.0, "kg")
    assert [(r.kind, r.type) for r in party_rows] == [
        ("destination", "owning_party"),
        ("source", "owning_party"),
    ]
    assert epc_count == 0  # quantity-only events carry no instance EPCs


def test_on_demand_checkpoint_and_seq_lookup(node: Node) -> None:
    result = capture(node.store, make_document(4), signer=node.signer)
    assert node.store.seq_of(result.new[2]) == 2
    with pytest.raises(NotFound):
        node.store.seq_of("ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0")
    assert node.signer is not None
    head = node.store.sign_current(node.signer)
    assert head.tree_size == 4 and signature_valid(head, node.identity.public_key)


def test_node_key_is_private_and_node_reloads(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "n"
    created = init_node(data_dir, "Douane Casablanca", "ma", database_url=database_url)
    created.close()
    mode = stat.S_IMODE(os.stat(data_dir / KEY_FILE).st_mode)
    assert mode == 0o600
    loaded = load_node(Settings(data_dir=data_dir, database_url=database_url))
    try:
        assert loaded.identity.country == "MA" and loaded.identity.name == "Douane Casablanca"
        assert loaded.private_key is not None
    finally:
        loaded.close()
    with pytest.raises(InvalidInput, match="already initialised"):
        init_node(data_dir, "again", "MA", database_url=database_url)


def test_init_refuses_bad_identity(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="ISO 3166-1"):
        init_node(tmp_path / "x", "Node", "France")
    with pytest.raises(InvalidInput, match="empty"):
        init_node(tmp_path / "y", "  ", "FR")


def _child_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for table in (quantities, epcs, sources)
            for row in connection.execute(select(table).order_by(*table.primary_key.columns))
        ]


def test_every_child_row_has_its_event(node: Node) -> None:
    # The child tables have no foreign key since revision 0007: the append alone keeps them consistent.
    document = make_document(4)
    document["epcisBody"]["eventList"][1]["epcList"] = ["urn:epc:id:sgtin:0614141.107346.2018"]
    capture(node.store, document, signer=node.signer)
    capture(node.store, make_document(6), signer=node.signer)  # 3 duplicates (event 1 differs), 3 new
    with node.engine.connect() as connection:
        event_seqs = set(connection.execute(select(events.c.seq)).scalars())
        for table in (quantities, epcs, sources):
            child_seqs = set(connection.execute(select(table.c.seq)).scalars())
            assert child_seqs and child_seqs <= event_seqs, table.name
    assert event_seqs == set(range(7))


def test_revision_0007_drops_the_child_foreign_keys_and_keeps_the_rows(database_url: str) -> None:
    engine = create_engine_from_url(database_url)
    try:
        migrate(engine, "0006")
        store = LedgerStore(engine)
        document = make_document(3)
        document["epcisBody"]["eventList"][0]["epcList"] = ["urn:epc:id:sgtin:0614141.107346.2018"]
        indexed, meta = prepare(document)
        store.append(indexed, meta)
        before = _child_rows(engine)
        assert len(before) == 3 + 1 + 6  # quantities, EPCs, sources

        def foreign_keys() -> dict[str, list[Any]]:
            inspector = inspect(engine)
            return {t.name: inspector.get_foreign_keys(t.name) for t in (quantities, epcs, sources)}

        assert all(len(keys) == 1 for keys in foreign_keys().values())
        migrate(engine, "0007")
        assert all(keys == [] for keys in foreign_keys().values())
        assert _child_rows(engine) == before
        if engine.dialect.name == "sqlite":  # the rebuilt tables keep their clustered primary key
            with engine.connect() as connection:
                definitions = connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE name IN (:a, :b, :c)"),
                    {"a": quantities.name, "b": epcs.name, "c": sources.name},
                ).all()
            assert len(definitions) == 3
            assert all(sql.rstrip().endswith("WITHOUT ROWID") for _, sql in definitions)
        with engine.connect() as connection:
            index_names = {
                ix["name"]
                for t in (quantities, epcs, sources)
                for ix in inspect(connection).get_indexes(t.name)
            }
        assert {"ix_ledger_quantities_epc_class", "ix_ledger_epcs_epc", "ix_ledger_sources_id"} <= index_names
        store.append(*prepare(make_document(2, start=3)))  # the append goes on as before
        _downgrade(engine, "0006")
        assert all(len(keys) == 1 for keys in foreign_keys().values())
        assert len(_child_rows(engine)) == len(before) + 2 * 3
        migrate(engine)
        assert all(keys == [] for keys in foreign_keys().values())
    finally:
        engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "vigichem.ledger:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_fast_rows_hold_what_sqlalchemy_would_store(node: Node) -> None:
    # The append hands text times and bare booleans to the driver (no SQLAlchemy type processing): the
    # stored values must be the ones a Core insert writes, for random times, offsets and fractions.
    randomness = random.Random(20261123)
    document = make_document(40)
    written = []
    for event in document["epcisBody"]["eventList"]:
        moment = datetime(randomness.randint(1, 9998), randomness.randint(1, 12), randomness.randint(1, 28))
        moment += timedelta(
            seconds=randomness.randint(0, 86_399), microseconds=randomness.randint(0, 999_999)
        )
        offset = randomness.choice(["Z", "+00:00", "+01:00", "-05:30", "+14:00", "-12:00"])
        digits = randomness.choice([0, 1, 3, 6])
        fraction = f".{moment.microsecond:06d}"[: digits + 1] if digits else ""
        event["eventTime"] = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}{fraction}{offset}"
        event["eventTimeZoneOffset"] = "+00:00" if offset == "Z" else offset
        written.append(event["eventTime"])
    document["epcisBody"]["eventList"][5]["errorDeclaration"] = {"declarationTime": "2026-03-02T00:00:00Z"}
    result = capture(node.store, document, signer=node.signer)
    assert len(result.new) == 40
    dialect = node.engine.dialect
    processor = events.c.event_time.type.dialect_impl(dialect).bind_processor(dialect)
    with node.engine.connect() as connection:
        rows = connection.execute(
            select(events.c.event_time, events.c.record_time, events.c.error_declaration).order_by(
                events.c.seq
            )
        ).all()
        received = connection.execute(select(documents.c.received_at)).scalar_one()
        raw = (
            connection.exec_driver_sql(
                "SELECT event_time, record_time, error_declaration, typeof(error_declaration) "
                "FROM ledger_events ORDER BY seq"
            ).all()
            if node.engine.dialect.name == "sqlite"
            else []
        )
    expected = [parse_event_time(text, "") for text in written]
    assert [row.event_time for row in rows] == expected
    assert all(row.record_time == received for row in rows)
    assert [row.error_declaration for row in rows] == [index == 5 for index in range(40)]
    if raw:  # SQLite keeps text and integers: exactly the forms SQLAlchemy's processors write
        assert processor is not None
        assert [r[0] for r in raw] == [processor(moment) for moment in expected]
        assert {r[1] for r in raw} == {processor(received)}
        assert [(r[2], r[3]) for r in raw] == [(int(index == 5), "integer") for index in range(40)]
