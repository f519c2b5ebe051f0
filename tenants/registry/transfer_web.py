"""Registry import and exports as pages (/t/<slug>/transfers/...): uploading a spreadsheet of
households and persons, the rows an import held back (conflicts) and applying them, and asking
for an export of the registry, the cases or the referrals.

Each page calls the action the API calls (`start_registry_import`, `apply_import_conflicts`,
`start_export`) with the same permissions, and then shows the job's own page
(`platform.jobs.web`), where its progress moves live and its files are downloaded.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.jobs.access import access_job_by_id, may_download
from slrt.platform.jobs.models import Job, JobStatus
from slrt.platform.jobs.web import (
    JOB_LINKS,
    JOB_STARTS,
    JobStart,
    after_start,
    can_follow_jobs,
    job_status,
    kind_words,
)
from slrt.platform.tabular.conflicts import conflict_errors, count_pending
from slrt.platform.tabular.exports import FORMATS
from slrt.platform.web import Form, TenantPages, notice, parse_form, problem_form
from slrt.tenants.registry import actions
from slrt.tenants.registry.api import ExportSchema
from slrt.tenants.registry.jobs import TEMPLATE

bp = TenantPages("transfers_web", __name__, "/transfers", lookups={"job_id": access_job_by_id})

JOB_STARTS.extend(
    [
        JobStart(
            "transfers_web.import_form", Msg("Impor registrasi", "Registry import"), P.IMPORTS_RUN
        ),
        JobStart("transfers_web.export_form", Msg("Ekspor data", "Export data"), P.EXPORTS_RUN),
    ]
)

IMPORT_KINDS = actions.IMPORT_KINDS

EXPORTS: dict[str, Msg] = {
    "registry": Msg("Registrasi (warga dengan KK-nya)", "Registry (persons with their KK)"),
    "cases": Msg("Layanan (kasus)", "Cases"),
    "referrals": Msg("Rujukan", "Referrals"),
}


class ExportFormSchema(ExportSchema):
    what = fields.String(required=True, validate=validate.OneOf(list(EXPORTS)))


def _file_problem(form_values: dict, message: Msg) -> Form:
    return Form(form_values, {"file": message})


# --- the import ---------------------------------------------------------------------------------


def _recent(kinds: tuple[str, ...], n: int = 5) -> list[Job]:
    """The district's newest jobs of `kinds`, for those who may open job pages."""
    if not can_follow_jobs():
        return []
    return list(
        db.session.execute(
            sa.select(Job)
            .where(Job.kind.in_(kinds))
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(n)
        ).scalars()
    )


def _import_page(form: Form | None = None, status: int = 200):
    return (
        render_template(
            "registry/import.html",
            form=form,
            columns=TEMPLATE,
            recent=_recent(IMPORT_KINDS),
            kind_words=kind_words,
            status_of=job_status,
        ),
        status,
    )


@bp.get("/import")
@require(P.IMPORTS_RUN)
def import_form():
    return _import_page()


@bp.post("/import")
@require(P.IMPORTS_RUN)
def upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(
            _file_problem({}, Msg("Pilih berkas CSV atau XLSX.", "Choose a CSV or XLSX file.")),
            422,
        )
    try:
        job = actions.start_registry_import(upload.filename, upload.read())
    except Problem as exc:
        form = problem_form(exc, {})
        if "_" in form.errors and "file" not in form.errors:
            form.errors["file"] = form.errors.pop("_")
        return _import_page(form, exc.code or 422)
    notice(
        Msg(
            f"Berkas {upload.filename} diterima; impor berjalan di latar belakang.",
            f"File {upload.filename} received; the import runs in the background.",
        )
    )
    return after_start(job, "transfers_web.import_form")


# --- rows an import held back -------------------------------------------------------------------


def _import_job(job_id: uuid.UUID, *, lock: bool = False) -> Job:
    job = access_job_by_id(job_id, lock=lock)
    if job.kind not in IMPORT_KINDS:
        raise Problem(404, Msg("Impor tidak ditemukan.", "Import not found."))
    if not may_download(job):  # the held rows are what its error report lists
        raise Problem(
            403,
            Msg(
                "Baris konflik hanya untuk yang memulai impor atau yang boleh mengelola "
                "pekerjaan latar belakang.",
                "Conflicting rows are for whoever started the import or those who may manage "
                "background jobs.",
            ),
        )
    return job


CONFLICTS_SHOWN = 200


@bp.get("/import/<uuid:job_id>/conflicts")
@require(P.IMPORTS_RUN)
def conflicts(job_id: uuid.UUID):
    job = _import_job(job_id)
    lines = []
    for error in conflict_errors(job.id):
        lines.append(error)
        if len(lines) >= CONFLICTS_SHOWN:
            break
    return render_template(
        "registry/conflicts.html",
        job=job,
        lines=lines,
        shown=CONFLICTS_SHOWN,
        pending=count_pending(job.id),
        finished=job.status == JobStatus.succeeded,
    )


@bp.post("/import/<uuid:job_id>/conflicts")
@require(P.IMPORTS_RUN)
def apply_conflicts(job_id: uuid.UUID):
    job = _import_job(job_id, lock=True)
    try:
        applying = actions.apply_import_conflicts(job)
    except Problem as exc:
        detail = exc.detail
        notice(detail if isinstance(detail, Msg) else Msg(str(detail), str(detail)))
        return redirect(url_for("transfers_web.conflicts", job_id=job.id))
    notice(Msg("Baris konflik sedang diterapkan.", "The conflicting rows are being applied."))
    return after_start(applying, "transfers_web.import_form")


def _conflict_links(job: Job) -> list[tuple[str, Msg]]:
    held = int((job.counts or {}).get("conflict_rows") or 0)
    if not held:
        return []
    return [
        (
            url_for("transfers_web.conflicts", job_id=job.id),
            Msg(f"Lihat {held} baris konflik", f"See {held} conflicting rows"),
        )
    ]


for _kind in IMPORT_KINDS:
    JOB_LINKS[_kind] = _conflict_links


# --- exports ------------------------------------------------------------------------------------


def _export_page(form: Form | None = None, status: int = 200):
    return (
        render_template(
            "registry/export.html",
            form=form,
            exports=list(EXPORTS.items()),
            formats=[(f, Msg(f.upper(), f.upper())) for f in FORMATS],
            recent=_recent(tuple(f"{what}.export" for what in EXPORTS)),
            kind_words=kind_words,
            status_of=job_status,
        ),
        status,
    )


@bp.get("/export")
@require(P.EXPORTS_RUN)
def export_form():
    return _export_page()


@bp.post("/export")
@require(P.EXPORTS_RUN)
def export():
    data, form = parse_form(ExportFormSchema())
    if data is None:
        return _export_page(form, 422)
    try:
        job = actions.start_export(data["what"], data["format"])
    except Problem as exc:
        return _export_page(problem_form(exc, form.values), exc.code or 422)
    notice(Msg("Ekspor berjalan di latar belakang.", "The export runs in the background."))
    return after_start(job, "transfers_web.export_form")
