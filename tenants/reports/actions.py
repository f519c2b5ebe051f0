"""The one write of the reports: asking for the monthly report, which a background job then makes
(`jobs.monthly_report_job`); its files are downloaded from the job."""

from __future__ import annotations

from slrt.platform.jobs.actions import enqueue
from slrt.platform.jobs.models import Job
from slrt.platform.transaction import action


@action
def request_monthly_report(month: str) -> Job:
    """Queue the report of `month` (YYYY-MM) for the current district, as the current actor."""
    return enqueue("reports.monthly", {"month": month})
