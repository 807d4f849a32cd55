"""Alembic environment: runs on the connection that :func:`vigichem.ledger.db.migrate` hands over.

There is no ``alembic.ini``: the configuration is built in code, so the migrations work from an installed
package. Running ``alembic`` from the command line is not supported; use ``vigichem init`` or ``migrate()``.
"""

from __future__ import annotations

from alembic import context

from vigichem.ledger.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through vigichem.ledger.db.migrate(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
