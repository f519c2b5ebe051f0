"""Background jobs: job records, job files, the outbox, schedules.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import grant_platform_table, secure_tenant_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True))
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "params", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("progress_done", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("progress_total", sa.BigInteger),
        sa.Column("progress_message", sa.String(300)),
        sa.Column(
            "counts", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("state", postgresql.JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("result", postgresql.JSONB),
        sa.Column("error_summary", sa.Text),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer, server_default="1", nullable=False),
        sa.Column("cancel_requested", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("dedup_key", sa.String(200)),
        sa.Column("started_by_kind", sa.String(16), nullable=False),
        sa.Column("started_by_label", sa.String(200), nullable=False),
        sa.Column("started_by_account_id", sa.Uuid),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_jobs"),
        sa.UniqueConstraint("tenant_id", "dedup_key", name="uq_jobs_tenant_id_dedup_key"),
        sa.CheckConstraint(
            "status IN ('queued', 'held', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_jobs_status_values",
        ),
    )
    op.create_index("ix_jobs_tenant_status", "jobs", ["tenant_id", "status", "created_at"])
    op.create_index("ix_jobs_tenant_kind", "jobs", ["tenant_id", "kind", "created_at"])
    secure_tenant_table("jobs")

    op.create_table(
        "job_files",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(120), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_job_files"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["jobs.tenant_id", "jobs.id"],
            ondelete="CASCADE",
            name="fk_job_files_tenant_id_job_id_jobs",
        ),
        sa.UniqueConstraint(
            "tenant_id", "job_id", "name", name="uq_job_files_tenant_id_job_id_name"
        ),
        sa.CheckConstraint(
            "role IN ('input', 'result', 'errors')", name="ck_job_files_role_values"
        ),
    )
    secure_tenant_table("job_files")

    op.create_table(
        "job_outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "tenant_ref",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("rq_job_id", sa.String(80), nullable=False),
        _ts("run_after", nullable=True),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        _ts("created_at"),
        sa.Column("relay_failures", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("rq_job_id", name="uq_job_outbox_rq_job_id"),
    )
    op.create_index("ix_job_outbox_job_id", "job_outbox", ["job_id"])
    grant_platform_table("job_outbox")

    op.create_table(
        "job_schedules",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("minute", sa.SmallInteger, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("day", sa.SmallInteger, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        _ts("next_run_at", nullable=True),
        _ts("last_run_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "cadence IN ('hourly', 'daily', 'monthly')", name="ck_job_schedules_cadence_values"
        ),
        sa.CheckConstraint("minute BETWEEN 0 AND 59", name="ck_job_schedules_minute_range"),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name="ck_job_schedules_hour_range"),
        sa.CheckConstraint("day BETWEEN 1 AND 28", name="ck_job_schedules_day_range"),
    )
    op.alter_column("job_schedules", "next_run_at", nullable=False)
    grant_platform_table("job_schedules")


def downgrade() -> None:
    op.drop_table("job_schedules")
    op.drop_table("job_outbox")
    op.drop_table("job_files")
    op.drop_table("jobs")
