"""Fast bulk inserts for the capture path, below SQLAlchemy's per-row parameter processing.

SQLAlchemy Core's ``executemany`` spends more time building parameters than the database spends writing
them (about 10 µs per row). The capture path knows its rows exactly, so it hands tuples to the driver:
``sqlite3``'s ``executemany`` on SQLite, and ``COPY ... FROM STDIN`` through psycopg on PostgreSQL. Values
are stored exactly as SQLAlchemy would store them (SQLite datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``
text, booleans as 0/1), so Core reads them back as usual. It runs on the caller's connection, inside the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Connection, DateTime, Dialect, Table

__all__ = ["bulk_insert", "bulk_insert_tuples", "sqlite_datetime"]


def _sqlite_rows(table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with datetimes and booleans converted the way SQLAlchemy stores them in SQLite."""
    converters: list[tuple[int, Any]] = []
    for position, name in enumerate(names):
        column_type = table.c[name].type
        if isinstance(column_type, DateTime):
            converters.append((position, sqlite_datetime))
        elif isinstance(column_type, Boolean):
            converters.append((position, _sqlite_boolean))
    if not converters:
        return rows
    out: list[tuple[Any, ...]] = []
    for values in rows:
        mutable = list(values)
        for position, convert in converters:
            mutable[position] = convert(mutable[position])
        out.append(tuple(mutable))
    return out


def sqlite_datetime(value: Any) -> Any:
    """A datetime as SQLAlchemy stores it in SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``); None stays None."""
    return value.isoformat(sep=" ", timespec="microseconds") if value else value


def _sqlite_boolean(value: Any) -> Any:
    return None if value is None else int(value)


def bulk_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, naming ``table``'s columns) in one driver call."""
    if not rows:
        return
    names = list(rows[0])
    pick = itemgetter(*names)
    # itemgetter of one name returns the bare value, of several a tuple
    tuples = [(pick(row),) for row in rows] if len(names) == 1 else [pick(row) for row in rows]
    bulk_insert_tuples(connection, table, names, tuples)


@lru_cache(maxsize=256)
def _statement(dialect: Dialect, table: Table, names: tuple[str, ...]) -> str:
    """The bulk statement for ``table``'s columns ``names`` (quoted once, not on every document)."""
    preparer = dialect.identifier_preparer
    column_list = ", ".join(preparer.quote(name) for name in names)
    table_name = preparer.format_table(table)
    if dialect.name == "postgresql":
        return f"COPY {table_name} ({column_list}) FROM STDIN"
    return f"INSERT INTO {table_name} ({column_list}) VALUES ({', '.join('?' for _ in names)})"


def bulk_insert_tuples(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    converted: bool = False,
) -> None:
    """Insert ``rows`` (tuples of values for the columns ``names``, in that order) in one driver call.

    The capture path builds its rows as tuples directly: no dict per row to build and take apart again.
    ``converted`` says the rows already hold SQLite's stored forms (datetimes as text, booleans as 0/1:
    :func:`sqlite_datetime`), so they are not copied to convert them; PostgreSQL ignores it.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    statement = _statement(connection.dialect, table, tuple(names))
    if dialect == "postgresql":
        dbapi_connection: Any = connection.connection.dbapi_connection
        with dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    if dialect == "sqlite":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(statement, rows if converted else _sqlite_rows(table, names, rows))
        finally:
            cursor.close()
        return
    raise NotImplementedError(f"bulk insert is not implemented for {dialect}")
