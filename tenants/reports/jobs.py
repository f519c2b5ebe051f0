"""The reports' background jobs: `reports.aggregates` (nightly, refreshes the district's dashboard
figures) and `reports.monthly` (the monthly report as XLSX and PDF job files, on the schedule or
on demand)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from slrt.platform import db
from slrt.platform.i18n import local_date
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.platform.tabular.write import XLSX_MEDIA_TYPE
from slrt.tenants.reports.aggregates import refresh
from slrt.tenants.reports.monthly import build, file_names, previous_month, render_pdf, write_xlsx


@job_handler("reports.aggregates", timeout=1800)
def refresh_job(ctx: JobContext) -> dict[str, Any]:
    """Nightly: recompute this district's dashboard aggregates (one row per day)."""
    row = refresh()
    ctx.progress(1, 1, "Ringkasan diperbarui / aggregates refreshed")
    return {"day": row.day.isoformat(), "intakes_total": row.intakes_total}


@job_handler("reports.monthly", timeout=1800)
def monthly_report_job(ctx: JobContext) -> dict[str, Any]:
    """The district's report for params["month"] (YYYY-MM), or, when fired by the schedule, for
    the month before the scheduled period. Retries replace the files (save_file)."""
    month = ctx.params.get("month")
    if not month:
        # The month before the district's day at the scheduled time (the schedule's period is
        # an instant, in UTC).
        month = previous_month(local_date(dt.datetime.fromisoformat(ctx.params["period"])))
    with db.on_replica(fresh=True):
        report = build(month)
    xlsx_name, pdf_name = file_names(month)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / xlsx_name
        write_xlsx(report, path)
        ctx.save_file(xlsx_name, XLSX_MEDIA_TYPE, path)
    ctx.save_file(pdf_name, "application/pdf", render_pdf(report))
    ctx.progress(1, 1, f"Laporan {month} siap / report ready")
    return {
        "month": month,
        "intakes": report.intakes_total,
        "referrals_sent": report.referrals_sent,
        "overdue": len(report.overdue),
        "files": [xlsx_name, pdf_name],
    }
