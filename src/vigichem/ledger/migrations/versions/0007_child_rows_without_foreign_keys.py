"""The child rows of the ledger (quantities, EPCs, sources) without foreign keys to ``ledger_events``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

Why: these rows are written by one function (:meth:`vigichem.ledger.store.LedgerStore.append`), in the
transaction that writes their event, with the ``seq`` it has just assigned, and the ledger is append-only:
the foreign keys guard against nothing the code does, yet on PostgreSQL each child row fires a
referential-integrity trigger (a key lookup and a row lock on the event): about 20 µs of server CPU per
event, a third of what the server spends on a capture. ``ledger_events.document_id`` keeps its foreign key
(one check per event, and documents are a separate write). A test checks that every child row has its
event after captures on both databases.

SQLite cannot drop a constraint: each table is rebuilt from its own stored definition less the
``FOREIGN KEY`` clause (so ``WITHOUT ROWID`` and everything else are kept), its rows copied, its index
recreated. PostgreSQL drops the constraints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (its foreign key's name, its secondary index and column)
_CHILDREN = {
    "ledger_quantities": (
        "fk_ledger_quantities_seq_ledger_events",
        "ix_ledger_quantities_epc_class",
        "epc_class",
    ),
    "ledger_epcs": ("fk_ledger_epcs_seq_ledger_events", "ix_ledger_epcs_epc", "epc"),
    "ledger_sources": ("fk_ledger_sources_seq_ledger_events", "ix_ledger_sources_id", "id"),
}


def _sqlite_rebuild(table: str, definition: str, index: str, column: str) -> None:
    """Replace ``table`` by a table created with ``definition`` (its ``CREATE TABLE`` text), rows kept."""
    staging = f"{table}_rebuild"
    # SQLite stores the name as written, quoted once the table has been renamed
    staged, found = re.subn(rf'^CREATE TABLE "?{table}"?\s', f"CREATE TABLE {staging} ", definition, count=1)
    if found != 1:
        raise RuntimeError(f"{table}: unexpected stored definition {definition[:60]!r}")
    op.execute(sa.text(staged))
    op.execute(sa.text(f"INSERT INTO {staging} SELECT * FROM {table}"))
    op.execute(sa.text(f"DROP TABLE {table}"))
    op.execute(sa.text(f"ALTER TABLE {staging} RENAME TO {table}"))
    op.execute(sa.text(f"CREATE INDEX {index} ON {table} ({column})"))


def _stored_definition(table: str) -> str:
    definition = (
        op.get_bind()
        .execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": table}
        )
        .scalar_one()
    )
    return str(definition)


def upgrade() -> None:
    """Drop the child tables' foreign keys to ``ledger_events``."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (foreign_key, index, column) in _CHILDREN.items():
        if not sqlite:
            op.drop_constraint(foreign_key, table, type_="foreignkey")
            continue
        clause = re.compile(
            rf",\s*CONSTRAINT {foreign_key} FOREIGN KEY\s*\(seq\) REFERENCES ledger_events \(seq\)"
        )
        definition, found = clause.subn("", _stored_definition(table))
        if found != 1:
            raise RuntimeError(
                f"{table}: the foreign key {foreign_key} was not found in its stored definition"
            )
        _sqlite_rebuild(table, definition, index, column)


def downgrade() -> None:
    """Put the foreign keys back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (foreign_key, index, column) in _CHILDREN.items():
        if not sqlite:
            op.create_foreign_key(foreign_key, table, "ledger_events", ["seq"], ["seq"])
            continue
        stored = _stored_definition(table)
        primary_key = re.search(r"CONSTRAINT pk_\w+ PRIMARY KEY \([^)]*\)", stored)
        if primary_key is None:
            raise RuntimeError(f"{table}: no primary key in its stored definition")
        definition = (
            stored[: primary_key.end()]
            + f", \n\tCONSTRAINT {foreign_key} FOREIGN KEY(seq) REFERENCES ledger_events (seq)"
            + stored[primary_key.end() :]
        )
        _sqlite_rebuild(table, definition, index, column)
