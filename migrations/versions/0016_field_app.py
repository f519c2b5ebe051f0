"""The field app: synced items by idempotency key, and photos uploaded in pieces.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import secure_tenant_table

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column(
        "tenant_id",
        sa.Integer,
        sa.ForeignKey("tenants.id", ondelete="RESTRICT", name=f"fk_{table}_tenant_id_tenants"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "field_synced_items",
        _tenant_column("field_synced_items"),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("result", postgresql.JSONB),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_field_synced_items"),
        sa.UniqueConstraint(
            "tenant_id",
            "account_id",
            "client_key",
            name="uq_field_synced_items_tenant_id_account_id_client_key",
        ),
        sa.CheckConstraint(
            "kind IN ('household', 'intake', 'follow_up')",
            name="ck_field_synced_items_kind_values",
        ),
    )
    secure_tenant_table("field_synced_items")
    op.create_table(
        "field_uploads",
        _tenant_column("field_uploads"),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received", sa.Integer, server_default="0", nullable=False),
        sa.Column("pieces", sa.Integer, server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_field_uploads"),
        sa.UniqueConstraint(
            "tenant_id",
            "account_id",
            "client_key",
            name="uq_field_uploads_tenant_id_account_id_client_key",
        ),
        sa.CheckConstraint("received BETWEEN 0 AND size", name="ck_field_uploads_received_range"),
    )
    secure_tenant_table("field_uploads")


def downgrade() -> None:
    op.drop_table("field_uploads")
    op.drop_table("field_synced_items")
