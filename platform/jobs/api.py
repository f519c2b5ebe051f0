"""District jobs: /api/v1/t/<tenant>/jobs (list, read, cancel, download files).

Anyone with `jobs.read` sees the district's jobs and their errors; the files a job produced
(exports, error reports) may hold personal data, so they are downloadable by the member who
started the job or by holders of `jobs.manage`.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Response
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, nullable_as, page_of
from slrt.platform.jobs.access import access_job_by_id, access_job_file
from slrt.platform.jobs.actions import cancel_job as cancel_job_action
from slrt.platform.jobs.models import Job, JobFile, JobStatus

blp = TenantBlueprint(
    "jobs",
    __name__,
    "/jobs",
    description="Background jobs of the district",
    lookups={"job_id": access_job_by_id},
)


@nullable_as(JobFile)
class JobFileSchema(Schema):
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    media_type = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True)


class ProgressSchema(Schema):
    done = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True, allow_none=True)
    message = fields.String(dump_only=True, allow_none=True)


@nullable_as(Job)
class JobSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    params = fields.Dict(dump_only=True)
    progress = fields.Method("_progress", dump_only=True)
    counts = fields.Dict(dump_only=True)
    result = fields.Dict(dump_only=True, allow_none=True)
    error_summary = fields.String(dump_only=True, allow_none=True)
    attempts = fields.Integer(dump_only=True)
    max_attempts = fields.Integer(dump_only=True)
    cancel_requested = fields.Boolean(dump_only=True)
    started_by = fields.Method("_started_by", dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    started_at = fields.DateTime(dump_only=True, allow_none=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)
    files = fields.Method("_files", dump_only=True)

    def _progress(self, job: Job) -> dict:
        return {
            "done": job.progress_done,
            "total": job.progress_total,
            "message": job.progress_message,
        }

    def _started_by(self, job: Job) -> dict:
        return {
            "kind": job.started_by_kind,
            "label": job.started_by_label,
            "account_id": str(job.started_by_account_id) if job.started_by_account_id else None,
        }

    def _files(self, job: Job) -> list[dict]:
        rows = db.session.execute(
            sa.select(JobFile.name, JobFile.role, JobFile.media_type, JobFile.size)
            .where(JobFile.job_id == job.id)
            .order_by(JobFile.role, JobFile.name)
        ).all()
        return [dict(r._mapping) for r in rows]


class JobQuerySchema(Schema):
    kind = fields.String(validate=validate.Length(max=80))
    status = fields.String(validate=validate.OneOf([s.value for s in JobStatus]))


@blp.route("")
@blp.arguments(JobQuerySchema, location="query")
@blp.response(200, JobSchema(many=True))
@blp.paginate()
@require(P.JOBS_READ)
def list_jobs(query: dict, pagination_parameters) -> list[Job]:
    """Jobs of the district, newest first; filter by kind and status."""
    stmt = sa.select(Job)
    if query.get("kind"):
        stmt = stmt.where(Job.kind == query["kind"])
    if query.get("status"):
        stmt = stmt.where(Job.status == query["status"])
    return page_of(stmt, pagination_parameters, Job.created_at.desc(), Job.id.desc())


@blp.route("/<uuid:job_id>")
@blp.response(200, JobSchema)
@require(P.JOBS_READ)
def get_job(job_id: uuid.UUID) -> Job:
    """One job with its progress, counts, error and files."""
    return access_job_by_id(job_id)


@blp.route("/<uuid:job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@require(P.JOBS_MANAGE)
def cancel_job(job_id: uuid.UUID) -> Job:
    """Cancel a job: a waiting one at once, a running one at its next checkpoint."""
    return cancel_job_action(access_job_by_id(job_id, lock=True))


@blp.route("/<uuid:job_id>/files/<string:name>")
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
@require(P.JOBS_READ)
def download_job_file(job_id: uuid.UUID, name: str) -> Response:
    """Download a file the job produced (export, error report)."""
    return file_response(access_job_file(access_job_by_id(job_id), name))


def file_response(f: JobFile) -> Response:
    """A job's file as a download that no cache keeps (it may hold personal data)."""
    return Response(
        f.content,
        mimetype=f.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{f.name}"',
            "Cache-Control": "no-store",
        },
    )
