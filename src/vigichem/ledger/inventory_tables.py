"""SQLAlchemy Core tables of the master data and the personal-data vault (created by migration 0002).

Timestamps are naive UTC, as in the ledger's tables. The ledger's own tables (``ledger_events``,
``ledger_quantities``…) belong to :mod:`vigichem.ledger.db`.

Personal data lives only in ``party_vault``: nothing in the hashed ledger refers to it except the
pseudonymous ``parties.ref``, so erasing a ``party_vault`` row never changes a leaf of the Merkle log.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from vigichem.ledger.db import events, metadata

# The tables join the ledger's metadata (and its naming convention) so that the migrated schema and the
# metadata can be compared as one; importing this module registers them.
inventory_metadata = metadata

organisations = Table(
    "organisations",
    inventory_metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("party_uri", Text, nullable=True, unique=True),
)

sites = Table(
    "sites",
    inventory_metadata,
    Column("id", String(64), primary_key=True),
    Column("organisation_id", String(64), ForeignKey("organisations.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("gln", String(13), nullable=True, unique=True),
    Column("location_uri", Text, nullable=False, unique=True),
    Column("country", String(2), nullable=False),
)

products = Table(
    "products",
    inventory_metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("gtin", String(14), nullable=True, unique=True),
    Column("organisation_id", String(64), ForeignKey("organisations.id"), nullable=True),
    Column("density_kg_per_l", Float, nullable=True),
    Column("net_content_value", Float, nullable=True),
    Column("net_content_uom", String(8), nullable=True),
    Column("screened_at", DateTime, nullable=True),
)

product_components = Table(
    "product_components",
    inventory_metadata,
    Column("product_id", String(64), ForeignKey("products.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("substance", Text, nullable=False),
    Column("percent", Float, nullable=False),
    Column("cas", String(16), nullable=True),
    Column("name", Text, nullable=True),
)

product_findings = Table(
    "product_findings",
    inventory_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", String(64), ForeignKey("products.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("list", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("basis", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", Text, nullable=False),
)

lots = Table(
    "lots",
    inventory_metadata,
    Column("product_id", String(64), ForeignKey("products.id"), primary_key=True),
    Column("lot", String(20), primary_key=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=True),
    Column("produced_on", Date, nullable=True),
    Column("expires_on", Date, nullable=True),
)

parties = Table(
    "parties",
    inventory_metadata,
    Column("ref", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("retain_until", Date, nullable=True),
    Column("erased", Boolean, nullable=False, default=False),
    Column("erased_at", DateTime, nullable=True),
    Column("erasure_reason", Text, nullable=True),
)

party_vault = Table(
    "party_vault",
    inventory_metadata,
    Column("ref", String(128), ForeignKey("parties.ref"), primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("id_document_type", Text, nullable=True),
    Column("id_document_number", Text, nullable=True),
    Column("address", Text, nullable=True),
    Column("country", String(2), nullable=True),
    Column("email", Text, nullable=True),
    Column("phone", Text, nullable=True),
)

vault_access_log = Table(
    "vault_access_log",
    inventory_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ref", String(128), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("purpose", Text, nullable=False),
)

BALANCE_EVENT_COLUMNS = (
    "seq",
    "error_declaration",
    "event_type",
    "action",
    "biz_step",
    "biz_location",
    "read_point",
    "event_time",
)
# A covering index for the balance: the aggregation probes ledger_events by seq for every quantity row and
# needs only these narrow columns, so it reads the index instead of the wide rows (event_json).
balance_events_index = Index("ix_ledger_events_balance", *[events.c[name] for name in BALANCE_EVENT_COLUMNS])

__all__ = [
    "BALANCE_EVENT_COLUMNS",
    "balance_events_index",
    "inventory_metadata",
    "lots",
    "organisations",
    "parties",
    "party_vault",
    "product_components",
    "product_findings",
    "products",
    "sites",
    "vault_access_log",
]
