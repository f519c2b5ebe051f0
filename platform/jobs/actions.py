"""Writes to the job system: asking for a job (`enqueue`) and cancelling one.

`enqueue(kind, params)` is called inside a tenant context and a database transaction: it adds the
Job record and an outbox row to that transaction; the job reaches Redis after commit (`outbox`),
runs in its tenant's context as its actor (`runner`), and is dispatched fairly between districts
(`worker`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.actor import Actor, current_actor
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem
from slrt.platform.jobs.handlers import handler_for
from slrt.platform.jobs.models import TERMINAL, Job, JobFile, JobStatus
from slrt.platform.jobs.queue import cancel_queued
from slrt.platform.logs import current_request_id
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import action, after_commit

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
    from slrt.platform.jobs.outbox import add_to_outbox

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
        request_id=current_request_id(),
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


@action
def cancel_job(job: Job) -> Job:
    """Cancel a job (locked by the caller): a waiting one at once, a running one at its next
    checkpoint; a finished one answers 409."""
    if job.status in TERMINAL:
        raise Problem(
            409,
            Msg(
                f"Tugas sudah selesai dengan status '{job.status}'; tidak dapat dibatalkan.",
                f"The job already ended as '{job.status}'; it cannot be cancelled.",
            ),
        )
    before = {"status": job.status}
    job.cancel_requested = True
    if job.status in (JobStatus.queued, JobStatus.held):
        job.status = JobStatus.cancelled.value
        job.finished_at = sa.func.now()
        job_id = job.id
        after_commit(lambda: cancel_queued(job_id))
    record(
        AuditKind.config,
        "job.cancel",
        "job",
        job.id,
        before=before,
        after={"status": job.status, "cancel_requested": True},
    )
    db.session.flush()
    db.session.refresh(job)
    return job
