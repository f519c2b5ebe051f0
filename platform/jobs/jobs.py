"""Jobs the platform itself runs in every district."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.config import setting
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.models import TERMINAL, Job, JobFile
from slrt.platform.jobs.runner import JobContext
from slrt.platform.tabular.conflicts import purge as purge_held_rows


@job_handler("jobs.purge_files", timeout=900)
def purge_old_job_files(ctx: JobContext) -> dict[str, Any]:
    """Nightly: delete the files (uploads, exports, error reports) and the rows imports held
    back, of jobs that finished more than SLRT_JOB_FILE_RETENTION_DAYS ago. Both hold personal
    data; they must not pile up. The job records stay (they are the history). Idempotent: a
    second run finds nothing more to delete."""
    days = int(setting("SLRT_JOB_FILE_RETENTION_DAYS") or 30)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    old_jobs = sa.select(Job.id).where(
        Job.status.in_([s.value for s in TERMINAL]), Job.finished_at < cutoff
    )
    deleted = db.session.execute(
        sa.delete(JobFile)
        .where(JobFile.job_id.in_(old_jobs))
        .execution_options(synchronize_session=False)
    ).rowcount
    purge_held_rows(old_jobs)  # rows an import held back hold personal data too
    ctx.progress(1, 1, f"{deleted} berkas dihapus / files deleted", counts={"deleted": deleted})
    return {"deleted": deleted, "cutoff": cutoff.isoformat()}
