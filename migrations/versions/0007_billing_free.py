"""billing_free: plans, plan assignments, daily usage, flush batches.

The standard plans are inserted here and every existing district is put on the default plan,
so a deployment that upgrades has quotas from the first request.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from slrt.platform.rls import grant_platform_table, secure_tenant_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GIB = 1024**3


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, server_default="", nullable=False),
        sa.Column("price_idr", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("duration_days", sa.Integer),
        sa.Column("is_default", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column("max_accounts", sa.Integer, nullable=False),
        sa.Column("max_puskesos", sa.Integer, nullable=False),
        sa.Column("max_storage_bytes", sa.BigInteger, nullable=False),
        sa.Column("api_requests_per_minute", sa.Integer, nullable=False),
        sa.Column("max_concurrent_jobs", sa.Integer, nullable=False),
        sa.Column("import_rows_per_day", sa.BigInteger, nullable=False),
        sa.Column("exports_per_day", sa.Integer, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("key", name="uq_plans_key"),
        sa.CheckConstraint("price_idr = 0", name="ck_plans_free"),
        sa.CheckConstraint("key ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="ck_plans_key_format"),
        sa.CheckConstraint(
            "duration_days IS NULL OR duration_days > 0", name="ck_plans_duration_positive"
        ),
        sa.CheckConstraint(
            "max_accounts >= 0 AND max_puskesos >= 0 AND max_storage_bytes >= 0 "
            "AND api_requests_per_minute > 0 AND max_concurrent_jobs > 0 "
            "AND import_rows_per_day >= 0 AND exports_per_day >= 0",
            name="ck_plans_quotas_valid",
        ),
    )
    op.create_index(
        "uq_plans_one_default",
        "plans",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    grant_platform_table("plans")

    op.create_table(
        "plan_assignments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "tenant_ref",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "plan_id", sa.Integer, sa.ForeignKey("plans.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("expires_on", sa.Date),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_label", sa.String(200), nullable=False),
        sa.Column("actor_account_id", sa.Uuid),
    )
    op.create_index(
        "ix_plan_assignments_tenant_ref", "plan_assignments", ["tenant_ref", "started_at"]
    )
    op.create_index(
        "uq_plan_assignments_one_current",
        "plan_assignments",
        ["tenant_ref"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    # History is kept: the app may close a period (UPDATE ended_at) but never delete one.
    grant_platform_table("plan_assignments", ("SELECT", "INSERT", "UPDATE"))

    op.create_table(
        "usage_daily",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("village_code", sa.String(13), server_default="", nullable=False),
        sa.Column("funding_source", sa.String(20), nullable=False),
        sa.Column("value", sa.BigInteger, server_default="0", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_usage_daily"),
        sa.UniqueConstraint(
            "tenant_id", "day", "metric", "village_code", name="uq_usage_daily_key"
        ),
    )
    # Usage is added to and read, never deleted by the app.
    secure_tenant_table("usage_daily", ("SELECT", "INSERT", "UPDATE"))

    op.create_table(
        "usage_flush_batches",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "flushed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("fields", sa.Integer, nullable=False),
    )
    op.create_index("ix_usage_flush_batches_flushed_at", "usage_flush_batches", ["flushed_at"])
    grant_platform_table("usage_flush_batches", ("SELECT", "INSERT", "DELETE"))

    plans = sa.table(
        "plans",
        sa.column("key"),
        sa.column("name"),
        sa.column("description"),
        sa.column("price_idr"),
        sa.column("duration_days"),
        sa.column("is_default"),
        sa.column("max_accounts"),
        sa.column("max_puskesos"),
        sa.column("max_storage_bytes"),
        sa.column("api_requests_per_minute"),
        sa.column("max_concurrent_jobs"),
        sa.column("import_rows_per_day"),
        sa.column("exports_per_day"),
    )
    # The standard plans as they were at this revision (slrt.billing_free.plans.STANDARD_PLANS
    # may evolve; a migration must not).
    op.bulk_insert(
        plans,
        [
            {
                "key": "lokus-kemensos",
                "name": "Lokus Kemensos",
                "description": "Paket awal Kemensos untuk kabupaten/kota lokus: 1 sekretariat, "
                "2 Puskesos, sekitar 50 fasilitator dan 3 supervisor.",
                "price_idr": 0,
                "duration_days": None,
                "is_default": True,
                "max_accounts": 80,
                "max_puskesos": 2,
                "max_storage_bytes": 20 * GIB,
                "api_requests_per_minute": 600,
                "max_concurrent_jobs": 2,
                "import_rows_per_day": 250_000,
                "exports_per_day": 50,
            },
            {
                "key": "mandiri-apbd",
                "name": "Mandiri APBD",
                "description": "Kabupaten/kota yang membiayai SLRT dari APBD sendiri: Puskesos "
                "di banyak desa/kelurahan, staf dan OPD lebih banyak.",
                "price_idr": 0,
                "duration_days": None,
                "is_default": False,
                "max_accounts": 1000,
                "max_puskesos": 400,
                "max_storage_bytes": 200 * GIB,
                "api_requests_per_minute": 3000,
                "max_concurrent_jobs": 4,
                "import_rows_per_day": 2_000_000,
                "exports_per_day": 300,
            },
            {
                "key": "uji-coba",
                "name": "Uji coba",
                "description": "Uji coba terbatas selama 90 hari sebelum penetapan lokus.",
                "price_idr": 0,
                "duration_days": 90,
                "is_default": False,
                "max_accounts": 10,
                "max_puskesos": 1,
                "max_storage_bytes": 1 * GIB,
                "api_requests_per_minute": 120,
                "max_concurrent_jobs": 1,
                "import_rows_per_day": 10_000,
                "exports_per_day": 10,
            },
        ],
    )
    op.execute(
        "INSERT INTO plan_assignments (tenant_ref, plan_id, reason, actor_label) "
        "SELECT t.id, p.id, 'Paket bawaan saat billing_free dipasang.', 'migration 0007' "
        "FROM tenants t CROSS JOIN plans p WHERE p.is_default"
    )


def downgrade() -> None:
    for table in ("usage_flush_batches", "usage_daily", "plan_assignments", "plans"):
        op.drop_table(table)
