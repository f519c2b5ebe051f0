"""Background jobs: the job record, the handler registry and `enqueue`.

A feature adds a job without touching the core:

    @job_handler("registry.import", timeout=3600)
    def import_registry(ctx: JobContext) -> dict | None: ...

and lists its module in JOB_HANDLER_MODULES. `enqueue(kind, params)` is called inside a tenant
context and a database transaction: it adds the Job record and an outbox row to that transaction;
the job reaches Redis after commit (jobs_outbox), runs in its tenant's context with its actor
(jobs_runner), and is dispatched fairly between districts (jobs_worker).

Handler contract (a retry must never double data): a job may run more than once (a worker killed
mid-job is retried). Handlers therefore
- write with upserts keyed by natural keys (NIK, KK, file name), never blind inserts, and
- call `ctx.progress(...)` at checkpoints: it commits the handler's pending writes together with
  the progress, the counts and `state` (resume data, read back through `ctx.state`) in ONE
  transaction, so after a crash the next attempt resumes from the last checkpoint and the counts
  match what was really written.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform import db
from slrt.platform.actor import Actor, current_actor
from slrt.platform.config import setting
from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk
from slrt.platform.tenancy import current_tenant

# Modules defining job handlers; imported by the worker before it runs any job.
JOB_HANDLER_MODULES: list[str] = [
    "slrt.platform.jobs_builtin",
    "slrt.tenants.registry_jobs",
    "slrt.tenants.escalation",
    "slrt.tenants.aggregates",
    "slrt.tenants.monthly_report",
]


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


# --- handlers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    fn: Callable[[Any], dict[str, Any] | None]
    timeout: int  # seconds one attempt may run
    max_attempts: int


_HANDLERS: dict[str, HandlerSpec] = {}
_modules_loaded = False


def job_handler(
    kind: str, *, timeout: int = 600, max_attempts: int | None = None
) -> Callable[[Callable], Callable]:
    """Register `fn(ctx: JobContext) -> dict | None` as the handler of job `kind`."""

    def decorator(fn: Callable) -> Callable:
        if kind in _HANDLERS and _HANDLERS[kind].fn is not fn:
            raise ValueError(f"job kind {kind!r} is already registered")
        attempts = max_attempts or int(setting("SLRT_JOB_MAX_ATTEMPTS") or 3)
        _HANDLERS[kind] = HandlerSpec(kind, fn, timeout, attempts)
        return fn

    return decorator


def load_handlers() -> None:
    global _modules_loaded
    if not _modules_loaded:
        for module in JOB_HANDLER_MODULES:
            import_module(module)
        _modules_loaded = True


def handler_for(kind: str) -> HandlerSpec:
    load_handlers()
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no job handler registered for {kind!r}") from None


def concurrency_cap(tenant_id: int) -> int:
    """How many of this district's jobs may be queued-for-a-worker or running at once: its
    plan's "jobs running at once" (billing_free)."""
    from slrt.billing_free.quotas import jobs_cap

    return max(1, jobs_cap(tenant_id))


# --- enqueue ---------------------------------------------------------------------------------


def enqueue(
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    dedup_key: str | None = None,
    actor: Actor | None = None,
) -> Job:
    """Ask for a job in the current tenant, inside the caller's transaction.

    The Job record and its outbox row are added to the current session; nothing reaches Redis
    until the caller commits (then jobs_outbox relays it). With `dedup_key`, asking twice returns
    the first job (scheduled fan-out uses this so a period runs once per tenant).
    """
    from slrt.platform.jobs_outbox import add_to_outbox

    spec = handler_for(kind)
    tenant = current_tenant()
    if dedup_key is not None:
        existing = db.session.execute(
            sa.select(Job).where(Job.dedup_key == dedup_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    who = actor or current_actor()
    job = Job(
        tenant_id=tenant.id,
        kind=kind,
        params=params or {},
        status=JobStatus.queued.value,
        max_attempts=spec.max_attempts,
        dedup_key=dedup_key,
        started_by_kind=who.kind,
        started_by_label=who.label[:200],
        started_by_account_id=who.account_id,
    )
    db.session.add(job)
    db.session.flush()
    add_to_outbox(tenant.id, job.id, spec)
    return job


def add_input_file(job: Job, name: str, media_type: str, content: bytes) -> JobFile:
    """Attach an input file (e.g. the uploaded spreadsheet) to a job in the same transaction."""
    f = JobFile(
        tenant_id=job.tenant_id,
        job_id=job.id,
        role="input",
        name=name,
        media_type=media_type,
        size=len(content),
        content=content,
    )
    db.session.add(f)
    return f
