"""Recovery of jobs whose worker died: run by the scheduler (and by workers' maintenance).

rq's StartedJobRegistry.cleanup retries abandoned jobs that have retries left and moves the rest
to the FailedJobRegistry. A job that ends there never ran its own failure bookkeeping (its horse
was killed), so here its record is marked failed with an explanation the district admin can read.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from rq.registry import FailedJobRegistry, StartedJobRegistry

from slrt.platform import db
from slrt.platform.jobs.models import TERMINAL, Job, JobStatus
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
