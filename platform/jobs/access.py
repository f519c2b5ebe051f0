"""Access to a district's jobs: the current district's, or 404 (another district's id looks
missing); and to the files a job produced, which may hold personal data: for the member who
started the job or holders of `jobs.manage`."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, Problem
from slrt.platform.jobs.models import Job, JobFile

JOB_NOT_FOUND = Msg("Tugas latar belakang tidak ditemukan.", "Job not found.")


@reuse_in_request
def access_job_by_id(job_id: uuid.UUID, *, lock: bool = False) -> Job:
    return one_or_404(sa.select(Job).where(Job.id == job_id), JOB_NOT_FOUND, lock=lock)


def may_download(job: Job) -> bool:
    """Whether the current member may download `job`'s files (its inputs never)."""
    principal = current_principal()
    return principal.can(str(P.JOBS_MANAGE)) or (
        principal.account_id is not None and principal.account_id == job.started_by_account_id
    )


def access_job_file(job: Job, name: str) -> JobFile:
    """A file `job` produced (export, error report), with its content; 403 for a member who may
    not download it, 404 for a missing name or an input file."""
    if not may_download(job):
        raise Problem(
            403,
            Msg(
                "Berkas ini hanya untuk yang memulai tugas atau pemegang izin 'jobs.manage'.",
                "This file is for whoever started the job or holders of 'jobs.manage'.",
            ),
            missing_permission=str(P.JOBS_MANAGE),
            page_detail=Msg(
                "Berkas ini hanya untuk yang memulai tugas atau yang boleh mengelola pekerjaan "
                "latar belakang.",
                "This file is for whoever started the job or those who may manage background jobs.",
            ),
        )
    f = db.session.execute(
        sa.select(JobFile)
        .where(JobFile.job_id == job.id, JobFile.name == name, JobFile.role != "input")
        .options(sa.orm.undefer(JobFile.content))
    ).scalar_one_or_none()
    if f is None:
        raise Problem(404, Msg("Berkas tidak ditemukan.", "File not found."))
    return f
