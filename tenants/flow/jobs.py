"""Job handlers of the service flow: `referrals.escalate`, the hourly escalation of overdue
referrals (fanned out to every district by the scheduler; the steps are in `flow.escalation`).
"""

from __future__ import annotations

from typing import Any

from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.tenants.flow.escalation import BATCH, escalate_overdue


@job_handler("referrals.escalate", timeout=900)
def escalate_job(ctx: JobContext) -> dict[str, Any]:
    """Hourly: escalate this district's overdue referrals one step (see `flow.escalation`)."""
    counts = escalate_overdue(limit=int(ctx.params.get("limit") or BATCH))
    ctx.progress(
        1,
        1,
        f"{counts['escalated']} rujukan dieskalasi / referrals escalated",
        counts=counts,
    )
    return counts
