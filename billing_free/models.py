"""billing_free tables.

- `plans`, `plan_assignments`, `usage_flush_batches`: platform tables. Plans are a national
  catalogue kept by Kemensos; a plan assignment is a decision Kemensos takes about a district
  (history with who and why); a flush batch spans many districts.
- `usage_daily`: tenant table. A district's usage is its own data: district admins read it
  inside their tenant (both isolation walls), Kemensos reads across districts only through the
  named, read-only platform bypass. One row per (day, metric, village); counters are added to,
  gauges (storage, active accounts) are overwritten at each flush.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps

# Quota columns of a plan, in display order. Names double as the API field names.
QUOTA_COLUMNS = (
    "max_accounts",
    "max_puskesos",
    "max_storage_bytes",
    "api_requests_per_minute",
    "max_concurrent_jobs",
    "import_rows_per_day",
    "exports_per_day",
)


class Plan(Timestamps, Base):
    """A free plan: a name, Rp 0, and the quotas a district on it may use."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The platform is a public service: every plan is free. The column exists so a statement
    # shows the price it was computed from, and the check keeps it honest.
    price_idr: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # Trial plans run for a fixed number of days from assignment; NULL: no end.
    duration_days: Mapped[int | None] = mapped_column(sa.Integer)
    is_default: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    max_accounts: Mapped[int] = mapped_column(sa.Integer)
    max_puskesos: Mapped[int] = mapped_column(sa.Integer)
    max_storage_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    api_requests_per_minute: Mapped[int] = mapped_column(sa.Integer)
    max_concurrent_jobs: Mapped[int] = mapped_column(sa.Integer)
    import_rows_per_day: Mapped[int] = mapped_column(sa.BigInteger)
    exports_per_day: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.CheckConstraint("price_idr = 0", name="free"),
        sa.CheckConstraint("key ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="key_format"),
        sa.CheckConstraint("duration_days IS NULL OR duration_days > 0", name="duration_positive"),
        sa.CheckConstraint(
            "max_accounts >= 0 AND max_puskesos >= 0 AND max_storage_bytes >= 0 "
            "AND api_requests_per_minute > 0 AND max_concurrent_jobs > 0 "
            "AND import_rows_per_day >= 0 AND exports_per_day >= 0",
            name="quotas_valid",
        ),
        sa.Index(
            "uq_plans_one_default",
            "is_default",
            unique=True,
            postgresql_where=sa.text("is_default"),
        ),
    )

    def quotas(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in QUOTA_COLUMNS}


class PlanAssignment(Base):
    """One period of a district on a plan. The open period (ended_at NULL) is the current plan;
    changing plans closes it and opens the next, so the history says who moved whom, when, why."""

    __tablename__ = "plan_assignments"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    tenant_ref: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="RESTRICT"))
    started_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    ended_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text)
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)

    __table_args__ = (
        sa.Index("ix_plan_assignments_tenant_ref", "tenant_ref", "started_at"),
        sa.Index(
            "uq_plan_assignments_one_current",
            "tenant_ref",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )


class UsageDaily(TenantScoped, Base):
    """Usage of one district on one of its days (in its own zone), per metric and village ('' =
    district level)."""

    __tablename__ = "usage_daily"

    day: Mapped[dt.date] = mapped_column(sa.Date)
    metric: Mapped[str] = mapped_column(sa.String(32))
    village_code: Mapped[str] = mapped_column(sa.String(13), default="", server_default="")
    # The village's funding source when the usage was flushed (minutes after it happened), so a
    # later change of a village's funding does not rewrite past statements.
    funding_source: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "day", "metric", "village_code", name="uq_usage_daily_key"
        ),
    )


class UsageFlushBatch(Base):
    """A batch of Redis counters written to usage_daily. Its id is inserted in the same
    transaction as the counts, so replaying a batch after a crash adds nothing twice."""

    __tablename__ = "usage_flush_batches"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    flushed_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    fields: Mapped[int] = mapped_column(sa.Integer)
