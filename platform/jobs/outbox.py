"""The outbox: a job asked for inside a database transaction is never lost.

`enqueue` writes an outbox row in the caller's transaction. After that transaction commits, the
rows it added are relayed to Redis at once (an `after_commit` hook); whatever could not be relayed
(Redis down, the process died right after commit) is relayed by `relay_pending`, which the
scheduler and every worker run in a loop. So a crash or an outage delays a job, never drops it.

Exactly-once start: a relayer locks the rows it handles (`FOR UPDATE SKIP LOCKED`, so two relayers
never take the same row), pushes each job to rq under the job record's own id unless rq already
has a job with that id (the relay before a crash got that far), then deletes the row in the same
transaction. Should the rq job hash have expired meanwhile, the runner still refuses to start a
job whose record is already finished.

The outbox is a platform table on purpose: it holds only (tenant id, job id, dispatch options), no
district data, and the relay loop must see every district's leftovers without a bypass.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import redis
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from slrt.platform import db
from slrt.platform.jobs.models import JobOutbox

log = logging.getLogger(__name__)


_PENDING_KEY = "slrt_outbox_pending"


def add_to_outbox(
    tenant_id: int,
    job_id: uuid.UUID,
    spec,
    *,
    rq_job_id: str | None = None,
    run_after: dt.datetime | None = None,
) -> None:
    sess = db.session()
    sess.add(
        JobOutbox(
            tenant_ref=tenant_id,
            job_id=job_id,
            rq_job_id=rq_job_id or str(job_id),
            run_after=run_after,
            timeout=spec.timeout,
            max_attempts=spec.max_attempts,
        )
    )
    if run_after is None:
        sess.info.setdefault(_PENDING_KEY, []).append(job_id)


@event.listens_for(Session, "after_commit")
def _relay_after_commit(sess: Session) -> None:
    job_ids = sess.info.pop(_PENDING_KEY, None)
    if job_ids:
        try:
            relay_pending(job_ids=job_ids, limit=len(job_ids))
        except Exception:  # the relay loop retries; the caller's commit already succeeded
            log.warning("relaying %d job(s) after commit failed; left in the outbox", len(job_ids))


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(sess: Session) -> None:
    sess.info.pop(_PENDING_KEY, None)


def relay_pending(*, job_ids: list[uuid.UUID] | None = None, limit: int = 500) -> int:
    """Push outbox rows to rq; return how many were relayed. Safe to run concurrently."""
    from slrt.platform.jobs.queue import push

    outbox = JobOutbox.__table__
    relayed = 0
    with db.engine().begin() as conn:
        stmt = (
            sa.select(outbox)
            .where(sa.or_(outbox.c.run_after.is_(None), outbox.c.run_after <= sa.func.now()))
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if job_ids is not None:
            stmt = stmt.where(outbox.c.job_id.in_(job_ids))
        rows = conn.execute(stmt).all()
        for row in rows:
            try:
                push(
                    row.tenant_ref,
                    row.job_id,
                    rq_job_id=row.rq_job_id,
                    timeout=row.timeout,
                    max_attempts=row.max_attempts,
                )
            except redis.RedisError as exc:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id == row.id)
                    .values(relay_failures=outbox.c.relay_failures + 1, last_error=str(exc)[:500])
                )
                break  # Redis is unreachable: keep the rest for the next round
            conn.execute(outbox.delete().where(outbox.c.id == row.id))
            relayed += 1
    return relayed


def pending_count() -> int:
    with db.engine().connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(JobOutbox.__table__)).scalar()
