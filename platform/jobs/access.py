"""Access to a district's jobs: the current district's, or 404 (another district's id looks
missing)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.platform.jobs.models import Job

JOB_NOT_FOUND = Msg("Tugas latar belakang tidak ditemukan.", "Job not found.")


@reuse_in_request
def access_job_by_id(job_id: uuid.UUID, *, lock: bool = False) -> Job:
    return one_or_404(sa.select(Job).where(Job.id == job_id), JOB_NOT_FOUND, lock=lock)
