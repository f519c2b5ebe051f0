"""The rq side of jobs: one rq queue per district, and how a job is pushed onto it.

Queue names are `t<tenant id>`; the set `slrt:jobs:queues` lists every district queue that ever
received a job, so running workers discover a new district on their next dequeue (no restart).
Each job carries an rq `RateLimit` keyed by its district: rq keeps at most `concurrency_cap`
of that district's jobs queued-for-a-worker or running, and holds the rest in its own
rate-limited set until a slot frees (see jobs_worker for the whole fairness design).
"""

from __future__ import annotations

import uuid

from rq import Queue, Retry
from rq.job import Job as RqJob
from rq.rate_limit import RateLimit

from slrt.platform.redis_client import get_redis

QUEUES_KEY = "slrt:jobs:queues"
QUEUE_PREFIX = "t"
# rq stores this dotted path in every queued job; `slrt.platform.jobs_runner` keeps the path of
# releases before the area packages working for jobs queued by them.
RUNNER = "slrt.platform.jobs.runner.run_job"
RESULT_TTL = 7 * 24 * 3600  # rq keeps finished job hashes a week; the job record keeps the rest
FAILURE_TTL = 30 * 24 * 3600
# Waits between attempts (seconds): a job that failed is retried later, not at once.
RETRY_INTERVALS = [5, 30, 120, 600]


def queue_name(tenant_id: int) -> str:
    return f"{QUEUE_PREFIX}{tenant_id}"


def tenant_of_queue(name: str) -> int | None:
    if name.startswith(QUEUE_PREFIX) and name[len(QUEUE_PREFIX) :].isdigit():
        return int(name[len(QUEUE_PREFIX) :])
    return None


def rate_limit_key(tenant_id: int) -> str:
    return f"slrt-tenant-{tenant_id}"


def tenant_queue(tenant_id: int, connection=None) -> Queue:
    return Queue(queue_name(tenant_id), connection=connection or get_redis())


def known_queue_names(connection=None) -> list[str]:
    conn = connection or get_redis()
    names = [n.decode() if isinstance(n, bytes) else n for n in conn.smembers(QUEUES_KEY)]
    return sorted(names, key=lambda n: (len(n), n))


def push(
    tenant_id: int,
    job_id: uuid.UUID,
    *,
    timeout: int,
    max_attempts: int,
    rq_job_id: str | None = None,
) -> bool:
    """Enqueue the rq job for a job record, unless rq already has it (idempotent relay).

    Returns True if a job was pushed now."""
    conn = get_redis()
    rq_id = rq_job_id or str(job_id)
    if RqJob.exists(rq_id, connection=conn):
        return False
    conn.sadd(QUEUES_KEY, queue_name(tenant_id))
    retries = max(0, max_attempts - 1)
    tenant_queue(tenant_id, conn).enqueue(
        RUNNER,
        args=(tenant_id, str(job_id)),
        job_id=rq_id,
        job_timeout=timeout,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        retry=Retry(max=retries, interval=RETRY_INTERVALS[:retries]) if retries else None,
        rate_limit=RateLimit(rate_limit_key(tenant_id), concurrency_cap(tenant_id)),
        description=f"job {rq_id} of tenant {tenant_id}",
    )
    return True


def cancel_queued(job_id: uuid.UUID) -> None:
    """Best effort: drop a queued rq job and free its slot (the runner also skips cancelled
    records, so a job that slips through does nothing)."""
    from redis import RedisError
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    try:
        job = RqJob.fetch(str(job_id), connection=get_redis())
        job.cancel()
    except (NoSuchJobError, InvalidJobOperation, RedisError):
        pass


def concurrency_cap(tenant_id: int) -> int:
    """How many of this district's jobs may be queued-for-a-worker or running at once: its
    plan's "jobs running at once" (billing_free)."""
    from slrt.billing_free.quotas import jobs_cap

    return max(1, jobs_cap(tenant_id))
