"""Platform foundation: tenants and the audit trail.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import APPEND_ONLY, grant_platform_table, secure_tenant_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("entity_type", sa.String(60), nullable=False),
        sa.Column("entity_id", sa.String(80)),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_label", sa.String(200), nullable=False),
        sa.Column("actor_account_id", sa.Uuid),
        sa.Column("endpoint", sa.String(200)),
        sa.Column("ip", sa.String(64)),
        sa.Column("before", postgresql.JSONB),
        sa.Column("after", postgresql.JSONB),
        sa.Column("note", sa.Text),
    ]


def upgrade() -> None:
    op.execute("GRANT SELECT ON alembic_version TO slrt_app")
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("province_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "settings", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("code ~ '^[0-9]{2}\\.[0-9]{2}$'", name="code_format"),
        sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="status_values"),
        sa.UniqueConstraint("code", name="uq_tenants_code"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    grant_platform_table("tenants")

    op.create_table(
        "audit_events",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index(
        "ix_audit_events_entity", "audit_events", ["tenant_id", "entity_type", "entity_id"]
    )
    op.create_index(
        "ix_audit_events_actor", "audit_events", ["tenant_id", "actor_account_id", "occurred_at"]
    )
    secure_tenant_table("audit_events", APPEND_ONLY)

    op.create_table(
        "platform_audit_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        *_audit_columns(),
        sa.Column("tenant_ref", sa.Integer),
    )
    op.create_index(
        "ix_platform_audit_events_occurred_at", "platform_audit_events", ["occurred_at"]
    )
    grant_platform_table("platform_audit_events", APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("platform_audit_events")
    op.drop_table("audit_events")
    op.drop_table("tenants")
