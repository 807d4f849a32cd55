"""Master data (organisations, sites, products, components, lots), personal-data vault, balance index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Personal data (``party_vault``) is kept apart from the hashed ledger: events carry ``parties.ref`` only.
The tables are written out (as in 0001) so that this revision keeps creating what it created on the day
it was written; names follow the naming convention of :data:`vigichem.ledger.db.metadata`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Registers the tables of this revision on the ledger metadata, so that a migrated database compares equal
# to the metadata even when nothing else has imported the master-data modules yet.
import vigichem.ledger.inventory_tables  # noqa: F401

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the master-data and vault tables."""
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("party_uri", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("party_uri", name="uq_organisations_party_uri"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("gln", sa.String(13), nullable=True),
        sa.Column("location_uri", sa.Text, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("gln", name="uq_sites_gln"),
        sa.UniqueConstraint("location_uri", name="uq_sites_location_uri"),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_sites_organisation_id_organisations"
        ),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("organisation_id", sa.String(64), nullable=True),
        sa.Column("density_kg_per_l", sa.Float, nullable=True),
        sa.Column("net_content_value", sa.Float, nullable=True),
        sa.Column("net_content_uom", sa.String(8), nullable=True),
        sa.Column("screened_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("gtin", name="uq_products_gtin"),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_products_organisation_id_organisations"
        ),
    )
    op.create_table(
        "product_components",
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("substance", sa.Text, nullable=False),
        sa.Column("percent", sa.Float, nullable=False),
        sa.Column("cas", sa.String(16), nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("product_id", "position", name="pk_product_components"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_product_components_product_id_products"
        ),
    )
    op.create_table(
        "product_findings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("list", sa.Text, nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_product_findings"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_product_findings_product_id_products"
        ),
    )
    op.create_index("ix_product_findings_product_id", "product_findings", ["product_id"])
    op.create_table(
        "lots",
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=True),
        sa.Column("produced_on", sa.Date, nullable=True),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("product_id", "lot", name="pk_lots"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_lots_product_id_products"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_lots_site_id_sites"),
    )
    op.create_table(
        "parties",
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("retain_until", sa.Date, nullable=True),
        sa.Column("erased", sa.Boolean, nullable=False),
        sa.Column("erased_at", sa.DateTime, nullable=True),
        sa.Column("erasure_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("ref", name="pk_parties"),
    )
    op.create_table(
        "party_vault",
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("id_document_type", sa.Text, nullable=True),
        sa.Column("id_document_number", sa.Text, nullable=True),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("phone", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("ref", name="pk_party_vault"),
        sa.ForeignKeyConstraint(["ref"], ["parties.ref"], name="fk_party_vault_ref_parties"),
    )
    op.create_table(
        "vault_access_log",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vault_access_log"),
    )
    op.create_index("ix_vault_access_log_ref", "vault_access_log", ["ref"])
    # Covering index for the balance (see vigichem.ledger.inventory_tables.balance_events_index).
    op.create_index(
        "ix_ledger_events_balance",
        "ledger_events",
        [
            "seq",
            "error_declaration",
            "event_type",
            "action",
            "biz_step",
            "biz_location",
            "read_point",
            "event_time",
        ],
    )


def downgrade() -> None:
    """Drop the master-data and vault tables (children first) and the balance index."""
    op.drop_index("ix_ledger_events_balance", "ledger_events")
    op.drop_index("ix_vault_access_log_ref", "vault_access_log")
    op.drop_index("ix_product_findings_product_id", "product_findings")
    for table in (
        "vault_access_log",
        "party_vault",
        "parties",
        "lots",
        "product_findings",
        "product_components",
        "products",
        "sites",
        "organisations",
    ):
        op.drop_table(table)
