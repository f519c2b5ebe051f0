"""Demo jobs (a DEMO_STEPS entry): each demo district gets a real job in its history, run by the
worker that `slrt up` starts."""

from __future__ import annotations

from slrt.platform import db
from slrt.platform.actor import SYSTEM
from slrt.platform.jobs import enqueue
from slrt.platform.jobs_scheduler import active_tenants
from slrt.platform.tenancy import tenant_context


def load_jobs_demo() -> list[str]:
    for tenant in active_tenants():
        with tenant_context(tenant):
            enqueue("jobs.purge_files", {"demo": True}, dedup_key="demo:purge", actor=SYSTEM)
            db.session.flush()
    return ["Demo jobs: /api/v1/t/<slug>/jobs (worker and scheduler run beside the server)"]
