"""Rows an import held back (newer edits in the system, or outside the uploader's region).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import secure_tenant_table

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_conflicts",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey(
                "tenants.id", ondelete="RESTRICT", name="fk_import_conflicts_tenant_id_tenants"
            ),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("row_number", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("record_key", sa.String(64), nullable=False),
        sa.Column("file_values", postgresql.JSONB, nullable=False),
        sa.Column("stored_values", postgresql.JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.Column("applied_job_id", sa.Uuid),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_import_conflicts"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["jobs.tenant_id", "jobs.id"],
            ondelete="CASCADE",
            name="fk_import_conflicts_tenant_id_job_id_jobs",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "job_id",
            "row_number",
            name="uq_import_conflicts_tenant_id_job_id_row_number",
        ),
        sa.CheckConstraint(
            "reason IN ('changed', 'region')", name="ck_import_conflicts_reason_values"
        ),
    )
    op.create_index("ix_import_conflicts_key", "import_conflicts", ["tenant_id", "record_key"])
    secure_tenant_table("import_conflicts")


def downgrade() -> None:
    op.drop_table("import_conflicts")
