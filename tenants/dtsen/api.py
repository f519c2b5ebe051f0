"""DTSEN API: /api/v1/t/<tenant>/dtsen/...

- imports of SIKS-NG files: upload (the header read, each column's field suggested), the
  mapping confirmed and the dry run started (`/check`), the application (`/apply`); the jobs'
  progress, counts, preview and error report are at /jobs/<id>;
- each family's history by quarter (`/households/<id>/history`, `/records/<id>`);
- the reconciliation of a village (`/villages/<id>/reconciliation`, and `/export` as a
  spreadsheet for its meeting);
- usul and sanggah: record, evidence, the home visit (verval), accept or reject, the outcome
  letter; the items Kemensos forwarded (`/submission-imports`);
- the district's settings (stale limit in quarters, verification clock in days).

Every write is an action of `dtsen.actions`; region scope applies to records, villages and
usul/sanggah; reads of personal data are audited.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Response, url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text, bool_arg, check_if_match, page_of
from slrt.platform.errors import Msg, Problem
from slrt.platform.filestore import store
from slrt.platform.i18n import local_today
from slrt.platform.jobs.api import JobSchema
from slrt.platform.jobs.models import Job
from slrt.platform.region_codes import VILLAGE_CODE
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.access import (
    EVIDENCE_NOT_FOUND,
    access_evidence_by_id,
    access_import_by_id,
    access_record_by_id,
    access_submission_by_id,
    access_village_in_region,
    import_scope,
    submission_scope,
)
from slrt.tenants.dtsen.columns import FIELDS
from slrt.tenants.dtsen.letters import render_outcome_pdf, verification_url
from slrt.tenants.dtsen.models import (
    IMPORT_KINDS,
    SUBMISSION_KINDS,
    VERVAL_RESULTS,
    DtsenImport,
    DtsenMember,
    DtsenRecord,
    Evidence,
    Submission,
)
from slrt.tenants.dtsen.reconcile import SECTIONS, reconcile
from slrt.tenants.dtsen.settings import dtsen_settings
from slrt.tenants.dtsen.standing import SOURCE_LABELS, history, standing_of
from slrt.tenants.flow.workflow import SUBMISSION_STATES, label, permission_of
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.models import Household

blp = TenantBlueprint(
    "dtsen",
    __name__,
    "/dtsen",
    description="DTSEN: SIKS-NG imports, official desil by quarter, reconciliation, usul/sanggah",
    lookups={
        "import_id": access_import_by_id,
        "household_id": access_household_by_id,
        "record_id": access_record_by_id,
        "village_id": access_village_in_region,
        "submission_id": access_submission_by_id,
        "evidence_id": access_evidence_by_id,
    },
)


def standing_json(household: Household | None) -> dict[str, Any] | None:
    """The family's current official DTSEN standing, as the API shows it beside a household."""
    standing = standing_of(household)
    if standing is None:
        return None
    return {
        "period": standing.period,
        "listed": standing.listed,
        "desil": standing.desil,
        "source": standing.source,
        "stale": standing.stale,
        "quarters_old": standing.quarters_old,
        "label": str(standing.label),
        "label_en": standing.label.en,
    }


# --- imports ------------------------------------------------------------------------------------


class FieldSchema(Schema):
    name = Text()
    label = Text()
    label_en = Text()
    required = fields.Boolean()


class ImportSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = Text()
    period = Text()
    filename = Text()
    file_type = Text()
    size = fields.Integer()
    header_row = fields.Integer()
    headers = fields.List(Text())
    mapping = fields.List(Text(allow_none=True), allow_none=True)
    status = Text()
    check_job_id = fields.UUID(allow_none=True)
    apply_job_id = fields.UUID(allow_none=True)
    uploaded_by_label = Text()
    created_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)


class ImportFormSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf(IMPORT_KINDS))
    period = Text(required=True, metadata={"description": "The quarter, e.g. 2026-Q3"})


class FileSchema(Schema):
    file = Upload(required=True)


class CheckSchema(Schema):
    mapping = fields.List(
        Text(allow_none=True, validate=validate.OneOf([*FIELDS, ""])),
        required=True,
        metadata={"description": "Per column of the header: the field it holds, or null"},
    )
    save_mapping = fields.Boolean(load_default=False)


def _accepted(job: Job):
    location = url_for("jobs.get_job", tenant=current_tenant().slug, job_id=job.id)
    return job, 202, {"Location": location}


@blp.route("/fields")
@blp.response(200, FieldSchema(many=True))
@require(P.IMPORTS_RUN)
def list_fields() -> list[dict[str, Any]]:
    """The fields a column of a SIKS-NG file may hold (NIK and name required)."""
    return [
        {"name": f.name, "label": str(f.label), "label_en": f.label.en, "required": f.required}
        for f in FIELDS.values()
    ]


@blp.route("/imports")
@blp.response(200, ImportSchema(many=True))
@blp.paginate()
@require(P.IMPORTS_RUN)
def list_imports(pagination_parameters) -> list[DtsenImport]:
    """The district's DTSEN imports, newest first (a regional member: their own)."""
    stmt = import_scope(sa.select(DtsenImport))
    return page_of(stmt, pagination_parameters, DtsenImport.created_at.desc(), DtsenImport.id)


@blp.route("/imports", methods=["POST"])
@blp.arguments(ImportFormSchema, location="form")
@blp.arguments(FileSchema, location="files")
@blp.response(201, ImportSchema)
@require(P.IMPORTS_RUN)
def upload_import(form: dict, files: dict) -> DtsenImport:
    """Upload a SIKS-NG export as it came (BNBA or desil, CSV or XLSX) for a quarter: its
    header is found and each column's field suggested; confirm with `/check`."""
    upload = files["file"]
    return actions.start_import(form["kind"], form["period"], upload.filename, upload.read())


@blp.route("/imports/<uuid:import_id>")
@blp.response(200, ImportSchema)
@require(P.IMPORTS_RUN)
def get_import(import_id: uuid.UUID) -> DtsenImport:
    """One import: its header, the mapping, its state and its jobs."""
    return access_import_by_id(import_id)


@blp.route("/imports/<uuid:import_id>/check", methods=["POST"])
@blp.arguments(CheckSchema)
@blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def check_import(data: dict, import_id: uuid.UUID):
    """Confirm the column mapping (and with `save_mapping` keep it for the district's next
    files) and start the dry run: what would change, nothing written."""
    dtsen_import = access_import_by_id(import_id, lock=True)
    return _accepted(actions.check_import(dtsen_import, data["mapping"], data["save_mapping"]))


@blp.route("/imports/<uuid:import_id>/apply", methods=["POST"])
@blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def apply_import(import_id: uuid.UUID):
    """Write the file's standing for its quarter after its dry run."""
    return _accepted(actions.apply_import(access_import_by_id(import_id, lock=True)))


# --- history ------------------------------------------------------------------------------------


class RecordSchema(Schema):
    id = fields.UUID()
    period = Text()
    kk_number = Text(allow_none=True)
    head_nik = Text(allow_none=True)
    head_name = Text(allow_none=True)
    household_id = fields.UUID(allow_none=True)
    village_code = Text(allow_none=True)
    listed = fields.Boolean()
    desil = fields.Integer(allow_none=True)
    source = Text()
    source_label = fields.Method("_source_label")
    match_rule = Text(allow_none=True)
    import_id = fields.UUID(allow_none=True)
    job_id = fields.UUID(allow_none=True)
    proposal_id = fields.UUID(allow_none=True)
    recorded_by_label = Text()
    recorded_at = fields.DateTime()

    def _source_label(self, obj: DtsenRecord) -> str:
        return str(SOURCE_LABELS[obj.source])


class MemberSchema(Schema):
    nik = Text(allow_none=True)
    name = Text()
    kk_number = Text(allow_none=True)
    relation = Text(allow_none=True)


class RecordDetailSchema(RecordSchema):
    members = fields.List(fields.Nested(MemberSchema))


class StandingSchema(Schema):
    period = Text()
    listed = fields.Boolean()
    desil = fields.Integer(allow_none=True)
    source = Text()
    stale = fields.Boolean()
    quarters_old = fields.Integer()
    label = Text()
    label_en = Text()


class HistorySchema(Schema):
    household_id = fields.UUID()
    kk_number = Text(allow_none=True)
    current = fields.Nested(StandingSchema, allow_none=True)
    records = fields.List(fields.Nested(RecordSchema))


@blp.route("/households/<uuid:household_id>/history")
@blp.response(200, HistorySchema)
@require(P.REGISTRY_READ)
def household_history(household_id: uuid.UUID) -> dict[str, Any]:
    """The family's DTSEN standing per quarter, newest first, each with where it came from
    (file, SIKS-NG result, check); `current` is the latest, flagged when stale."""
    household = access_household_by_id(household_id)
    records = history(household)
    actions.record_reads("household", "dtsen.history.read", [household.id])
    return {
        "household_id": household.id,
        "kk_number": household.kk_number,
        "current": standing_json(household),
        "records": records,
    }


@blp.route("/records/<uuid:record_id>")
@blp.response(200, RecordDetailSchema)
@require(P.REGISTRY_READ)
def get_record(record_id: uuid.UUID) -> DtsenRecord:
    """One family's record of one quarter, with the persons the file listed."""
    record = access_record_by_id(record_id)
    record.members = list(
        db.session.execute(
            sa.select(DtsenMember)
            .where(DtsenMember.record_id == record.id)
            .order_by(DtsenMember.nik)
        ).scalars()
    )
    actions.record_reads("dtsen_record", "dtsen.record.read", [record.id])
    return record


# --- reconciliation -----------------------------------------------------------------------------


class ReconciliationQuerySchema(Schema):
    period = Text(validate=validate.Regexp(r"^\d{4}-Q[1-4]$"))


class ExportQuerySchema(ReconciliationQuerySchema):
    format = Text(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))


class ReconciliationSchema(Schema):
    village_code = Text()
    village_name = Text()
    period = Text(allow_none=True)
    previous_period = Text()
    periods = fields.List(Text())
    counts = fields.Dict(keys=Text(), values=fields.Integer())
    lists = fields.Dict(keys=Text(), values=fields.List(fields.Dict()))


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


@blp.route("/villages/<uuid:village_id>/reconciliation")
@blp.arguments(ReconciliationQuerySchema, location="query")
@blp.response(200, ReconciliationSchema)
@require(P.REGISTRY_READ)
def village_reconciliation(query: dict, village_id: uuid.UUID) -> dict[str, Any]:
    """The village's reconciliation for a quarter (default: its latest): families in DTSEN but
    not in the registry, in the registry but not listed, desil changed since the previous
    quarter, NIKs the registry lacks, and the village's usul and sanggah."""
    village = access_village_in_region(village_id)
    result = reconcile(village, query.get("period"))
    actions.record_reads("village", "dtsen.reconciliation.read", [village.id])
    return {
        "village_code": village.code,
        "village_name": village.name,
        "period": result.period,
        "previous_period": result.previous,
        "periods": result.periods,
        "counts": {key: result.count(key) for key in SECTIONS},
        "lists": {
            key: [{k: _jsonable(v) for k, v in row.items()} for row in rows]
            for key, rows in result.lists.items()
        },
    }


@blp.route("/villages/<uuid:village_id>/reconciliation/export", methods=["POST"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="XLSX (a sheet per list) or CSV for the village meeting")
@require(P.EXPORTS_RUN)
def export_reconciliation(query: dict, village_id: uuid.UUID) -> Response:
    """The village's reconciliation as a spreadsheet for its meeting (formula-safe; audited as
    an export)."""
    village = access_village_in_region(village_id)
    return file_response(
        actions.export_reconciliation(village, query.get("period"), query["format"])
    )


def file_response(export: actions.ExportFile) -> Response:
    """A file for download (the API and the pages alike)."""
    return Response(
        export.body,
        mimetype=export.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- settings -----------------------------------------------------------------------------------


class SettingsSchema(Schema):
    stale_quarters = fields.Integer(
        validate=validate.Range(1, 20),
        metadata={"description": "The latest standing older than this many quarters is stale"},
    )
    verification_days = fields.Integer(
        validate=validate.Range(1, 90),
        metadata={"description": "Days to verify an usul or sanggah before it is deemed rejected"},
    )


@blp.route("/settings")
@blp.etag
@blp.response(200, SettingsSchema)
@require(P.TENANT_READ)
def get_settings() -> dict[str, int]:
    """The district's DTSEN settings (defaults: 2 quarters, 14 days)."""
    return dtsen_settings()


@blp.route("/settings", methods=["PATCH"])
@blp.etag
@blp.arguments(SettingsSchema)
@blp.response(200, SettingsSchema)
@require(P.TENANT_CONFIGURE)
def patch_settings(data: dict) -> dict[str, int]:
    """Change the stale limit and/or the verification clock (send If-Match)."""
    check_if_match(blp, dtsen_settings(), SettingsSchema)
    return actions.update_settings(data)


# --- usul and sanggah ---------------------------------------------------------------------------


class EvidenceSchema(Schema):
    id = fields.UUID()
    kind = Text()
    filename = Text()
    content_type = Text()
    size = fields.Integer()
    uploaded_at = fields.DateTime()


class SubmissionSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = Text(required=True, validate=validate.OneOf(SUBMISSION_KINDS))
    channel = Text(dump_only=True)
    status = Text(dump_only=True)
    status_label = fields.Method("_status_label", dump_only=True)
    person_id = fields.UUID(
        metadata={"description": "A registered person; else give nik, name, village_code"}
    )
    nik = Text(validate=validate.Length(1, 32))
    name = Text(validate=validate.Length(1, 200))
    kk_number = Text(validate=validate.Length(1, 32))
    address = Text(validate=validate.Length(0, 500))
    village_code = Text(validate=VILLAGE_CODE)
    village_name = fields.Method("_village_name", dump_only=True)
    reason = Text(required=True, validate=validate.Length(3, 5000))
    submitter_name = Text(validate=validate.Length(0, 200))
    submitter_phone = Text(
        validate=validate.Regexp(
            r"^\+?[0-9 \-]{6,20}$", error="String does not match expected pattern."
        )
    )
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    received_on = fields.Date()
    due_on = fields.Date(dump_only=True)
    overdue = fields.Method("_overdue", dump_only=True)
    visited_on = fields.Date(dump_only=True)
    verval_result = Text(dump_only=True)
    verval_note = Text(dump_only=True)
    decision_note = Text(dump_only=True)
    proposal_id = fields.UUID(dump_only=True)
    letter_number = Text(dump_only=True)
    letter_url = fields.Method("_letter_url", dump_only=True)
    verification_url = fields.Method("_verification_url", dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _status_label(self, obj: Submission) -> dict[str, str]:
        words = label("submission", obj.status)
        return {"id": str(words), "en": words.en}

    def _village_name(self, obj: Submission) -> str | None:
        return village_name(obj.village_code)

    def _overdue(self, obj: Submission) -> bool:
        return obj.status == "received" and local_today() > obj.due_on

    def _letter_url(self, obj: Submission) -> str | None:
        if not obj.letter_number:
            return None
        return f"/api/v1/t/{current_tenant().slug}/dtsen/submissions/{obj.id}/letter.pdf"

    def _verification_url(self, obj: Submission) -> str | None:
        return verification_url(current_tenant(), obj.token) if obj.token else None


class SubmissionDetailSchema(SubmissionSchema):
    evidence = fields.List(fields.Nested(EvidenceSchema), dump_only=True)


class SubmissionQuerySchema(Schema):
    kind = Text(validate=validate.OneOf(SUBMISSION_KINDS))
    status = Text(validate=validate.OneOf(SUBMISSION_STATES))
    village_code = Text(validate=VILLAGE_CODE)
    overdue = bool_arg()


class EvidenceFormSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf(["photo", "document"]))


class VervalSchema(Schema):
    result = Text(required=True, validate=validate.OneOf(VERVAL_RESULTS))
    visited_on = fields.Date()
    note = Text(validate=validate.Length(0, 5000))
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class DecisionSchema(Schema):
    note = Text(validate=validate.Length(0, 5000))


def submission_list(query: dict[str, Any]) -> sa.Select:
    """The usul and sanggah in the caller's region, filtered (the API and the pages alike)."""
    stmt = submission_scope(sa.select(Submission))
    for key in ("kind", "status", "village_code"):
        if query.get(key):
            stmt = stmt.where(getattr(Submission, key) == query[key])
    if query.get("overdue"):
        stmt = stmt.where(Submission.status == "received", Submission.due_on < local_today())
    return stmt


def with_evidence(submission: Submission) -> Submission:
    submission.evidence = list(
        db.session.execute(
            sa.select(Evidence)
            .where(Evidence.submission_id == submission.id)
            .order_by(Evidence.uploaded_at, Evidence.id)
        ).scalars()
    )
    return submission


@blp.route("/submissions")
@blp.arguments(SubmissionQuerySchema, location="query")
@blp.response(200, SubmissionSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_submissions(query: dict, pagination_parameters) -> list[Submission]:
    """Usul and sanggah in the caller's region, nearest deadline first (the read is audited)."""
    rows = page_of(submission_list(query), pagination_parameters, Submission.due_on, Submission.id)
    actions.record_reads("dtsen_submission", "dtsen_submission.list", [s.id for s in rows])
    return rows


@blp.route("/submissions", methods=["POST"])
@blp.arguments(SubmissionSchema)
@blp.response(201, SubmissionDetailSchema)
@require(P.PROPOSALS_MANAGE)
def create_submission(data: dict) -> Submission:
    """Record an usul (a resident asks to be added to DTSEN) or a sanggah (an objection to a
    listed family) at the Puskesos; the verification clock starts."""
    if data.get("person_id"):
        data["person"] = access_person_by_id(data.pop("person_id"))
    return with_evidence(actions.create_submission(data))


@blp.route("/submissions/<uuid:submission_id>")
@blp.response(200, SubmissionDetailSchema)
@require(P.REGISTRY_READ)
def get_submission(submission_id: uuid.UUID) -> Submission:
    """One usul or sanggah with its evidence (the read is audited)."""
    submission = access_submission_by_id(submission_id)
    actions.record_reads("dtsen_submission", "dtsen_submission.read", [submission.id])
    return with_evidence(submission)


@blp.route("/submissions/<uuid:submission_id>/evidence", methods=["POST"])
@blp.arguments(EvidenceFormSchema, location="form")
@blp.arguments(FileSchema, location="files")
@blp.response(201, EvidenceSchema)
@require(P.PROPOSALS_MANAGE)
def add_evidence(form: dict, files: dict, submission_id: uuid.UUID) -> Evidence:
    """A house photo (image) or a document (image or PDF); its type is decided from its bytes."""
    submission = access_submission_by_id(submission_id, lock=True)
    upload = files["file"]
    return actions.add_evidence(submission, form["kind"], upload.filename, upload.read())


@blp.route("/submissions/<uuid:submission_id>/evidence/<uuid:evidence_id>")
@blp.response(200, description="The evidence file as uploaded")
@require(P.REGISTRY_READ)
def get_evidence(submission_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
    """One evidence file (the read is audited)."""
    return evidence_response(access_submission_by_id(submission_id), evidence_id)


def evidence_response(submission: Submission, evidence_id: uuid.UUID) -> Response:
    evidence = access_evidence_by_id(evidence_id)
    if evidence.submission_id != submission.id:
        raise Problem(404, EVIDENCE_NOT_FOUND)  # another item's file: as if missing
    actions.record_evidence_read(evidence)
    return Response(
        store().get(evidence.storage_key),
        mimetype=evidence.content_type,
        headers={
            "Content-Disposition": f'inline; filename="bukti-{evidence.id.hex[:8]}"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/submissions/<uuid:submission_id>/verval", methods=["POST"])
@blp.arguments(VervalSchema)
@blp.response(200, SubmissionDetailSchema)
@require(permission_of("submission", "verify"))
def record_verval(data: dict, submission_id: uuid.UUID) -> Submission:
    """The home visit's result (verval), within the verification clock."""
    submission = access_submission_by_id(submission_id, lock=True)
    return with_evidence(actions.record_verval(submission, data))


@blp.route("/submissions/<uuid:submission_id>/accept", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, SubmissionDetailSchema)
@require(permission_of("submission", "accept"))
def accept_submission(data: dict, submission_id: uuid.UUID) -> Submission:
    """Accept after the home visit: an usul becomes a DTSEN proposal for the village meeting;
    the outcome letter is issued. Against the visit's finding a note is required."""
    submission = access_submission_by_id(submission_id, lock=True)
    return with_evidence(actions.decide_submission(submission, True, data.get("note")))


@blp.route("/submissions/<uuid:submission_id>/reject", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, SubmissionDetailSchema)
@require(permission_of("submission", "reject"))
def reject_submission(data: dict, submission_id: uuid.UUID) -> Submission:
    """Reject after the home visit (a note is required); the outcome letter is issued."""
    submission = access_submission_by_id(submission_id, lock=True)
    return with_evidence(actions.decide_submission(submission, False, data.get("note")))


@blp.route("/submissions/<uuid:submission_id>/letter.pdf")
@blp.response(200, description="The outcome letter as PDF")
@require(P.REGISTRY_READ)
def submission_letter(submission_id: uuid.UUID) -> Response:
    """The outcome letter (after the decision, or after the clock ran out); audited."""
    return letter_response(access_submission_by_id(submission_id))


def letter_response(submission: Submission) -> Response:
    if not submission.letter_number:
        raise Problem(
            404,
            Msg("Surat hasil belum terbit.", "The outcome letter has not been issued yet."),
        )
    pdf = render_outcome_pdf(db.session.get(Tenant, current_tenant().id), submission)
    actions.record_letter_print(submission)
    filename = submission.letter_number.replace("/", "-")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="surat-hasil-{filename}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/submission-imports", methods=["POST"])
@blp.arguments(FileSchema, location="files")
@blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def import_submissions(files: dict):
    """Import the usul and sanggah Kemensos forwarded (CSV or XLSX: id, jenis, nik, nama,
    no_kk, alamat, kode_desa, alasan, pengusul, tanggal); an item already imported (same id) is
    left alone; the clock runs from its date."""
    upload = files["file"]
    return _accepted(actions.start_submissions_import(upload.filename, upload.read()))
