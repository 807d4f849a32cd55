"""Alembic revisions: ``0001`` creates the ledger tables; later revisions chain from the latest one."""
