"""Registry import and exports over the API; both answer 202 with the job to watch at
/api/v1/t/<tenant>/jobs/<id> (progress, error report, result file).

- POST /imports/registry (multipart `file`: CSV or XLSX): `imports.run`
- POST /exports/registry | /exports/cases | /exports/referrals ({"format": "csv"|"xlsx"}):
  `exports.run`; the export covers the requester's region scope only.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count, require_daily
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint
from slrt.platform.exports import FORMATS, requester_scope
from slrt.platform.imports_job import accept_upload
from slrt.platform.jobs import Job, add_input_file, enqueue
from slrt.platform.jobs_api import JobSchema
from slrt.platform.tabular_write import XLSX_MEDIA_TYPE
from slrt.platform.tenancy import current_tenant

blp = TenantBlueprint(
    "registry_jobs", __name__, "", description="Registry import and exports (background jobs)"
)


class ImportFileSchema(Schema):
    file = Upload(required=True)


class ExportSchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(FORMATS))


def _accepted(job: Job):
    db.session.commit()
    location = url_for("jobs.get_job", tenant=current_tenant().slug, job_id=job.id)
    return job, 202, {"Location": location}


@blp.route("/imports/registry", methods=["POST"])
@blp.arguments(ImportFileSchema, location="files")
@blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def import_registry(files: dict):
    """Import households (by KK) and persons (by NIK) from a CSV or XLSX file; re-running the
    same file changes nothing. Bad rows are reported in a downloadable error report."""
    upload = files["file"]
    data = upload.read()
    kind = accept_upload(data, upload.filename or "")
    check_count(Quota.STORAGE, adding=len(data))  # the upload is kept with the job
    job = enqueue(
        "registry.import",
        {"filename": upload.filename, "file_kind": kind, **requester_scope(current_principal())},
    )
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else "text/csv"
    add_input_file(job, (upload.filename or f"upload.{kind}")[:200], media, data)
    return _accepted(job)


def _export(what: str, data: dict):
    require_daily(Quota.EXPORTS)  # the plan's exports per day: 429 with Retry-After
    job = enqueue(
        f"{what}.export", {"format": data["format"], **requester_scope(current_principal())}
    )
    return _accepted(job)


@blp.route("/exports/registry", methods=["POST"])
@blp.arguments(ExportSchema)
@blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_registry(data: dict):
    """Export the registry (persons with their KK) in the caller's region, as CSV or XLSX."""
    return _export("registry", data)


@blp.route("/exports/cases", methods=["POST"])
@blp.arguments(ExportSchema)
@blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_cases(data: dict):
    """Export the cases in the caller's region, as CSV or XLSX."""
    return _export("cases", data)


@blp.route("/exports/referrals", methods=["POST"])
@blp.arguments(ExportSchema)
@blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_referrals(data: dict):
    """Export the referrals in the caller's region, as CSV or XLSX."""
    return _export("referrals", data)
