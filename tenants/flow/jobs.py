"""Hourly SLA escalation of overdue referrals (the `referrals.escalate` job, fanned out to every
district by the scheduler).

A referral still open past its due date (`flow.deadlines`) climbs one level per step:

1. the supervisor(s) whose region covers the referral's village are notified;
2. still overdue ESCALATION_STEP after that: the manager(s) covering the village;
3. still overdue ESCALATION_STEP later: the district admins, and the referral is flagged to the
   district (`escalation_level` 3, shown as `district_flagged` on the referral).

Each step is stored on the referral (level and time), in the workflow trail (a `Transition`
with action "escalate") and in the audit trail, together with the notifications, in one
transaction. Idempotent: a referral moves at most one level per ESCALATION_STEP, and
notifications carry a dedup key per referral and level, so running twice in the same hour (or
retrying a killed job) never notifies twice. One run handles at most `limit` referrals (the
oldest deadlines first); the rest wait for the next hour.
"""

from __future__ import annotations

from typing import Any

from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.tenants.flow.escalation import BATCH, escalate_overdue


@job_handler("referrals.escalate", timeout=900)
def escalate_job(ctx: JobContext) -> dict[str, Any]:
    """Hourly: escalate this district's overdue referrals one step (see the module doc)."""
    counts = escalate_overdue(limit=int(ctx.params.get("limit") or BATCH))
    ctx.progress(
        1,
        1,
        f"{counts['escalated']} rujukan dieskalasi / referrals escalated",
        counts=counts,
    )
    return counts
