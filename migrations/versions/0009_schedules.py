"""Escalation records, notifications, district aggregates, monthly reports.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import grant_platform_table, secure_tenant_table

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "referrals",
        sa.Column("escalation_level", sa.SmallInteger, server_default="0", nullable=False),
    )
    op.add_column("referrals", sa.Column("escalated_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "ck_referrals_escalation_level_range", "referrals", "escalation_level BETWEEN 0 AND 3"
    )

    op.create_table(
        "notifications",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column(
            "account_id",
            sa.Uuid,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("referral_id", sa.Uuid),
        sa.Column("link", sa.String(300)),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_notifications"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "referral_id"],
            ["referrals.tenant_id", "referrals.id"],
            ondelete="CASCADE",
            name="fk_notifications_tenant_id_referral_id_referrals",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "account_id",
            "dedup_key",
            name="uq_notifications_tenant_id_account_id_dedup_key",
        ),
    )
    op.create_index(
        "ix_notifications_account", "notifications", ["tenant_id", "account_id", "read_at", "id"]
    )
    secure_tenant_table("notifications")

    op.create_table(
        "district_aggregates",
        sa.Column(
            "district_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.Column(name, sa.Integer, nullable=False)
            for name in (
                "intakes_total",
                "intakes_last_30_days",
                "referrals_total",
                "referrals_answered",
                "referrals_on_time",
                "referrals_overdue",
                "active_villages",
                "open_cases",
            )
        ),
        *(
            sa.Column(name, postgresql.JSONB, nullable=False)
            for name in (
                "intakes_by_kind",
                "intakes_by_channel",
                "referrals_by_outcome",
                "referrals_by_program",
            )
        ),
        sa.PrimaryKeyConstraint("district_id", "day", name="pk_district_aggregates"),
    )
    op.create_index("ix_district_aggregates_day", "district_aggregates", ["day"])
    grant_platform_table("district_aggregates")


def downgrade() -> None:
    op.drop_table("district_aggregates")
    op.drop_table("notifications")
    op.drop_constraint("ck_referrals_escalation_level_range", "referrals", type_="check")
    op.drop_column("referrals", "escalated_at")
    op.drop_column("referrals", "escalation_level")
