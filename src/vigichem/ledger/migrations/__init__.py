"""Alembic migrations of the ledger database (run them with :func:`vigichem.ledger.db.migrate`)."""
