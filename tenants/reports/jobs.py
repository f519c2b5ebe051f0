"""Per-district aggregates for the dashboards (the nightly `reports.aggregates` job).

`district_aggregates` is a PLATFORM table of counts only: no names, NIKs, ticket numbers or
record ids, so Kemensos and provincial viewers may read it across districts without touching
any district's personal data. The job computes one district's figures inside that district's
context (RLS restricts every read to it) and upserts one row per district per day.

Figures (as of the run):
- intakes: all cases, by kind and by channel, and those of the last 30 days;
- referrals by program and by outcome (pending, in_progress = sent/received/accepted,
  fulfilled, rejected);
- on-time rate: of the referrals the agency answered (accepted or rejected), the share answered
  by their due date; None when nothing was answered yet;
- overdue referrals now, active villages (a case registered in the last 30 days), open cases.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from slrt.platform import db
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
        month = previous_month(dt.datetime.fromisoformat(ctx.params["period"]).date())
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
