"""The tables of the job system: `jobs` (one record per job: kind, status, progress, counts,
result, error, who asked) and `job_files` (inputs and results, kept in the district's data),
both tenant tables; `job_outbox` (jobs waiting to reach Redis) and `job_schedules` (scheduled
work), platform tables."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.actor import Actor
from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class JobSchedule(Timestamps, Base):
    """A recurring job fanned out to every active district."""

    __tablename__ = "job_schedules"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(80))
    cadence: Mapped[str] = mapped_column(sa.String(16))
    minute: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    hour: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    day: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    last_run_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint("cadence IN ('hourly', 'daily', 'monthly')", name="cadence_values"),
        sa.CheckConstraint("minute BETWEEN 0 AND 59", name="minute_range"),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name="hour_range"),
        sa.CheckConstraint("day BETWEEN 1 AND 28", name="day_range"),
    )


class JobStatus(enum.StrEnum):
    queued = "queued"
    held = "held"  # paused by a quota; resumes by itself (billing_free)
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL = {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled}


class Job(TenantScoped, Timestamps, Base):
    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(16), default=JobStatus.queued.value)
    params: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )
    progress_done: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    progress_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    progress_message: Mapped[str | None] = mapped_column(sa.String(300))
    counts: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )
    # Resume data written at each checkpoint, in the same transaction as the work it describes.
    state: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=sa.text("'{}'::jsonb")
    )
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error_summary: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    cancel_requested: Mapped[bool] = mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200))
    started_by_kind: Mapped[str] = mapped_column(sa.String(16))
    started_by_label: Mapped[str] = mapped_column(sa.String(200))
    started_by_account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # The X-Request-ID of the request that asked for the job: its log lines carry it too.
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('queued', 'held', 'running', 'succeeded', 'failed', 'cancelled')",
            name="status_values",
        ),
        sa.UniqueConstraint("tenant_id", "dedup_key"),
        sa.Index("ix_jobs_tenant_status", "tenant_id", "status", "created_at"),
        sa.Index("ix_jobs_tenant_kind", "tenant_id", "kind", "created_at"),
    )

    def actor(self) -> Actor:
        return Actor(
            kind=self.started_by_kind,
            label=self.started_by_label,
            account_id=self.started_by_account_id,
        )


class JobFile(TenantScoped, Base):
    """A file a job reads (role "input", e.g. an uploaded spreadsheet) or produces ("result",
    "errors"). Kept in PostgreSQL so it is tenant data behind both walls and written in the
    same transaction as the checkpoint that produced it."""

    __tablename__ = "job_files"

    job_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    role: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("job_id", "jobs", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "job_id", "name"),
        sa.CheckConstraint("role IN ('input', 'result', 'errors')", name="role_values"),
    )


class JobOutbox(Base):
    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    # Named tenant_ref, not tenant_id: this is a platform table (see the module docstring).
    tenant_ref: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    job_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    # The rq job to create: the job record's id for its first run, "<id>-r<n>" when a held job
    # resumes. Unique, so one run is relayed once.
    rq_job_id: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # Not relayed before this time (a job held by a quota resumes then).
    run_after: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    timeout: Mapped[int] = mapped_column(sa.Integer)
    max_attempts: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    relay_failures: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
