"""Recovery of jobs whose worker died, and of jobs Redis lost: run by the scheduler (and, for
the first, by workers' maintenance).

rq's StartedJobRegistry.cleanup retries abandoned jobs that have retries left and moves the rest
to the FailedJobRegistry. A job that ends there never ran its own failure bookkeeping (its horse
was killed), so here its record is marked failed with an explanation the district admin can read.

`requeue_lost`: Redis keeps its data in an append-only file written every second, so a crash can
lose the last writes, among them a just-pushed job. A record still waiting for a worker (queued
or held) with no outbox row and no live rq job for a while is pushed again through the outbox;
the runner's exactly-once rule (a finished record never starts again) makes a duplicate harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import sqlalchemy as sa
from rq.registry import FailedJobRegistry, StartedJobRegistry

from slrt.platform import db
from slrt.platform.jobs.models import TERMINAL, Job, JobOutbox, JobStatus
from slrt.platform.jobs.queue import known_queue_names, tenant_of_queue, tenant_queue
from slrt.platform.redis_client import get_redis
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant

log = logging.getLogger(__name__)

ABANDONED = (
    "Pekerja (worker) berhenti di tengah tugas dan semua percobaan ulang habis. / "
    "The worker stopped mid-job and every retry was used."
)


def recover() -> int:
    """Clean rq's registries for every district queue; return how many records were failed."""
    conn = get_redis()
    marked = 0
    for name in known_queue_names(conn):
        tenant_id = tenant_of_queue(name)
        if tenant_id is None:
            continue
        queue = tenant_queue(tenant_id, conn)
        StartedJobRegistry(queue=queue).cleanup()
        failed_ids = FailedJobRegistry(queue=queue).get_job_ids()
        if failed_ids:
            marked += _fail_records(tenant_id, failed_ids)
    return marked


def _fail_records(tenant_id: int, rq_ids: list[str]) -> int:
    ids = []
    for rq_id in rq_ids:
        try:
            ids.append(uuid.UUID(rq_id))
        except ValueError:
            continue
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or not ids:
        return 0
    try:
        with tenant_context(tenant.ref()):
            result = db.session.execute(
                sa.update(Job)
                .where(Job.id.in_(ids), Job.status.not_in([s.value for s in TERMINAL]))
                .values(
                    status=JobStatus.failed.value,
                    finished_at=sa.func.now(),
                    error_summary=sa.func.coalesce(Job.error_summary + "\n", "") + ABANDONED,
                )
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            return result.rowcount
    finally:
        db.session.remove()


# A record younger than this is left alone: its push may still be on its way.
LOST_AFTER = dt.timedelta(seconds=30)
# rq states in which a job will still run (or is running).
_ALIVE = {
    "created",
    "queued",
    "started",
    "deferred",
    "scheduled",
    "rate_limited",
    "ready_to_enqueue",
}


def _rq_ids(job: Job) -> list[str]:
    """Every rq id the record may run under: its own id, or a resumption's `<id>-r<attempt>`."""
    return [str(job.id)] + [f"{job.id}-r{n}" for n in range(job.attempts + 2)]


def requeue_lost(now: dt.datetime | None = None) -> int:
    """Push again the waiting jobs whose rq job vanished from Redis; return how many."""
    from slrt.platform.jobs.handlers import handler_for
    from slrt.platform.jobs.outbox import add_to_outbox

    now = now or dt.datetime.now(dt.UTC)
    conn = get_redis()
    requeued = 0
    tenant_ids = db.session.execute(
        sa.select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)
    ).scalars()
    refs = [db.session.get(Tenant, tid).ref() for tid in list(tenant_ids)]
    db.session.commit()
    for ref in refs:
        try:
            with tenant_context(ref):
                waiting = (
                    db.session.execute(
                        sa.select(Job).where(
                            Job.status.in_([JobStatus.queued.value, JobStatus.held.value]),
                            Job.updated_at < now - LOST_AFTER,
                            Job.id.not_in(sa.select(JobOutbox.job_id)),
                        )
                    )
                    .scalars()
                    .all()
                )
                for job in waiting:
                    ids = _rq_ids(job)
                    with conn.pipeline(transaction=False) as pipe:
                        for rq_id in ids:
                            pipe.hget(f"rq:job:{rq_id}", "status")
                        states = [(s or b"").decode() for s in pipe.execute()]
                    if set(states) & (_ALIVE | {"failed"}):  # waiting, running, or recover's
                        continue
                    # Push under the latest id rq does not know (a later sweep finds it alive).
                    missing = [i for i, s in zip(ids, states, strict=True) if not s]
                    rq_id = missing[-1] if missing else f"{job.id}-r{job.attempts + 1}"
                    try:
                        spec = handler_for(job.kind)
                    except LookupError:
                        continue
                    log.warning(
                        "job %s of district %s lost from Redis; queued again", job.id, ref.id
                    )
                    add_to_outbox(job.tenant_id, job.id, spec, rq_job_id=rq_id)
                    requeued += 1
                db.session.commit()  # the outbox rows are relayed after this commit
        finally:
            db.session.remove()
    return requeued
