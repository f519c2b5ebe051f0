"""Cases API: /api/v1/t/<tenant>/cases: intake, assessment, decision, referral, follow-up, closure.

Each state change is its own operation with the permission the transition table gives it
(`workflow.permission_of`); an action the case's state does not allow answers 409 naming the
current state and the allowed actions.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text, check_if_match, page_of
from slrt.platform.audit import AuditKind, record
from slrt.platform.errors import Msg, Problem
from slrt.platform.filestore import store
from slrt.tenants import flow_actions as actions
from slrt.tenants import workflow
from slrt.tenants.cases import (
    AttachmentKind,
    Case,
    CaseAttachment,
    CaseKind,
    CaseNeed,
    Channel,
    Referral,
)
from slrt.tenants.flow_support import (
    access_case_by_id,
    case_scope,
    village_name,
)
from slrt.tenants.programs import Sector
from slrt.tenants.registry import DtksStatus
from slrt.tenants.workflow import permission_of

blp = TenantBlueprint(
    "cases", __name__, "/cases", description="Cases (layanan / keluhan) and their workflow"
)

VILLAGE = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$", error="String does not match expected pattern."
)
KECAMATAN = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}$", error="String does not match expected pattern."
)


class NeedSchema(Schema):
    sector = Text(required=True, validate=validate.OneOf([s.value for s in Sector]))
    description = Text(required=True, validate=validate.Length(1, 2000))


class CaseCreateSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf([k.value for k in CaseKind]))
    channel = Text(required=True, validate=validate.OneOf([c.value for c in Channel]))
    person_id = fields.UUID(allow_none=True)
    household_id = fields.UUID(allow_none=True)
    village_code = Text(validate=VILLAGE)
    description = Text(required=True, validate=validate.Length(1, 5000))
    needs = fields.List(fields.Nested(NeedSchema), load_default=list)


class CaseUpdateSchema(Schema):
    kind = Text(validate=validate.OneOf([k.value for k in CaseKind]))
    channel = Text(validate=validate.OneOf([c.value for c in Channel]))
    description = Text(validate=validate.Length(1, 5000))


class CaseSchema(Schema):
    id = fields.UUID(dump_only=True)
    ticket_number = Text(dump_only=True)
    kind = Text(dump_only=True)
    channel = Text(dump_only=True)
    person_id = fields.UUID(dump_only=True)
    household_id = fields.UUID(dump_only=True)
    village_code = Text(dump_only=True)
    village_name = fields.Method("_village_name", dump_only=True)
    description = Text(dump_only=True)
    status = Text(dump_only=True)
    status_label = fields.Method("_status_label", dump_only=True)
    allowed_actions = fields.Method("_allowed", dump_only=True)
    assessment_note = Text(dump_only=True)
    assessed_at = fields.DateTime(dump_only=True)
    decided_by_name = Text(dump_only=True)
    decided_by_title = Text(dump_only=True)
    decided_at = fields.DateTime(dump_only=True)
    follow_up_note = Text(dump_only=True)
    resolution = Text(dump_only=True)
    closed_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _village_name(self, obj) -> str | None:
        return village_name(obj.village_code)

    def _status_label(self, obj) -> dict:
        label = workflow.label(obj.status)
        return {"id": str(label), "en": label.en}

    def _allowed(self, obj) -> list[str]:
        return workflow.allowed_actions("case", obj.status)


class NeedOutSchema(Schema):
    id = fields.UUID()
    sector = Text()
    description = Text()


class AttachmentSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = Text(dump_only=True)
    filename = Text(dump_only=True)
    content_type = Text(dump_only=True)
    size = fields.Integer(dump_only=True)
    sha256 = Text(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class CaseReferralSchema(Schema):
    id = fields.UUID()
    program_id = fields.UUID()
    program_name = Text()
    program_version = fields.Integer()
    agency_id = fields.UUID()
    agency_name = Text()
    status = Text()
    due_at = fields.DateTime()
    rejection_reason = Text()
    outcome = Text()


class PersonSummarySchema(Schema):
    id = fields.UUID()
    name = Text()
    nik = Text()
    sex = Text()
    birth_date = fields.Date()
    has_disability = fields.Boolean()


class SuggestionSchema(Schema):
    program_id = fields.UUID()
    program_code = Text()
    program_name = Text()
    program_version = fields.Integer()
    sector = Text()
    agency_id = fields.UUID()
    agency_name = Text()
    rule = Text(allow_none=True)
    eligible = fields.Boolean()
    explanation = fields.List(Text())
    explanation_en = fields.List(Text())
    failed = fields.List(Text())


class HouseholdSummarySchema(Schema):
    id = fields.UUID()
    kk_number = Text()
    address = Text()
    dtks_status = Text()
    desil = fields.Integer()
    dtks_checked_on = fields.Date()


class CaseDetailSchema(CaseSchema):
    person = fields.Nested(PersonSummarySchema, dump_only=True, allow_none=True)
    household = fields.Nested(HouseholdSummarySchema, dump_only=True, allow_none=True)
    needs = fields.List(fields.Nested(NeedOutSchema), dump_only=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema), dump_only=True)
    referrals = fields.List(fields.Nested(CaseReferralSchema), dump_only=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), dump_only=True)


class CaseQuerySchema(Schema):
    status = Text(validate=validate.OneOf(workflow.CASE_STATES))
    kind = Text(validate=validate.OneOf([k.value for k in CaseKind]))
    channel = Text(validate=validate.OneOf([c.value for c in Channel]))
    village_code = Text(validate=VILLAGE)
    kecamatan_code = Text(validate=KECAMATAN)
    person_id = fields.UUID()
    ticket_number = Text()


class TransitionSchema(Schema):
    id = fields.UUID()
    referral_id = fields.UUID()
    machine = Text()
    action = Text()
    from_state = Text()
    to_state = Text()
    actor_account_id = fields.UUID()
    actor_label = Text()
    note = Text()
    occurred_at = fields.DateTime()


class DtksCheckSchema(Schema):
    status = Text(required=True, validate=validate.OneOf([s.value for s in DtksStatus]))
    desil = fields.Integer(allow_none=True, validate=validate.Range(1, 10))
    checked_on = fields.Date()


class AssessSchema(Schema):
    needs = fields.List(fields.Nested(NeedSchema))
    dtks = fields.Nested(DtksCheckSchema)
    note = Text(validate=validate.Length(0, 5000))


class DecideSchema(Schema):
    program_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20))
    note = Text(validate=validate.Length(0, 5000))


class ReasonSchema(Schema):
    reason = Text(required=True, validate=validate.Length(1, 5000))


class CaseNoteSchema(Schema):
    note = Text(validate=validate.Length(0, 5000))


class FollowUpSchema(Schema):
    note = Text(required=True, validate=validate.Length(1, 5000))


class CloseSchema(Schema):
    resolution = Text(required=True, validate=validate.OneOf(["resolved", "unresolved"]))
    note = Text(validate=validate.Length(0, 5000))


class UploadFormSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf([k.value for k in AttachmentKind]))


class UploadFileSchema(Schema):
    file = Upload(required=True)


EDITABLE = ("registered", "returned", "assessed")


def _detail(case: Case) -> Case:
    """Attach what the detail view shows (three queries, whatever the case's size)."""
    person, household = actions.case_subjects(case)
    case.person = person
    case.household = household
    case.needs = list(
        db.session.execute(
            sa.select(CaseNeed).where(CaseNeed.case_id == case.id).order_by(CaseNeed.id)
        ).scalars()
    )
    case.referrals = list(
        db.session.execute(
            sa.select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)
        ).scalars()
    )
    case.attachments = list(
        db.session.execute(
            sa.select(CaseAttachment)
            .where(CaseAttachment.case_id == case.id)
            .order_by(CaseAttachment.id)
        ).scalars()
    )
    if person is not None:
        record(
            AuditKind.read, "person.read", "person", person.id, note=f"case {case.ticket_number}"
        )
    return case


def _done(case: Case) -> Case:
    """Load the detail (recording the read) and commit it all in one transaction."""
    _detail(case)
    db.session.commit()
    return case


@blp.route("")
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema(many=True))
@blp.paginate()
@require(P.CASES_READ)
def list_cases(query: dict, pagination_parameters) -> list[Case]:
    """Cases in the caller's region, newest first; filter by status, kind, channel, village,
    kecamatan, person, ticket number."""
    stmt = case_scope(sa.select(Case))
    for key in ("status", "kind", "channel", "village_code", "person_id", "ticket_number"):
        if query.get(key):
            stmt = stmt.where(getattr(Case, key) == query[key])
    if query.get("kecamatan_code"):
        stmt = stmt.where(Case.village_code.like(query["kecamatan_code"] + ".%"))
    return page_of(stmt, pagination_parameters, Case.id.desc())


@blp.route("", methods=["POST"])
@blp.arguments(CaseCreateSchema)
@blp.response(201, CaseDetailSchema)
@require(P.CASES_REGISTER)
def register(data: dict) -> Case:
    """Register a visit or contact: a ticket number is assigned (e.g. 7372-2026-000123)."""
    case = actions.register_case(data)
    return _done(case)


@blp.route("/<uuid:case_id>")
@blp.etag
@blp.response(200, CaseDetailSchema)
@require(P.CASES_READ)
def get_case(case_id: uuid.UUID) -> Case:
    """One case with its person, needs, suggestions, referrals and attachments (audited read)."""
    case = _detail(access_case_by_id(case_id))
    db.session.commit()
    return case


@blp.route("/<uuid:case_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(CaseUpdateSchema)
@blp.response(200, CaseDetailSchema)
@require(P.CASES_REGISTER)
def patch_case(data: dict, case_id: uuid.UUID) -> Case:
    """Correct the intake (kind, channel, description) before a decision; If-Match required."""
    case = access_case_by_id(case_id, lock=True)
    check_if_match(blp, _detail(case), CaseDetailSchema)
    if case.status not in EDITABLE:
        raise Problem(
            409,
            Msg(
                f"Kasus berstatus '{case.status}'; data layanan hanya dapat diubah sebelum "
                "keputusan (registered, returned, assessed).",
                f"The case is '{case.status}'; the intake can only be corrected before the "
                "decision (registered, returned, assessed).",
            ),
            current_state=case.status,
        )
    for key, value in data.items():
        setattr(case, key, value)
    record(AuditKind.workflow, "case.update", "case", case.id, after={"fields": sorted(data)})
    db.session.commit()
    return case


@blp.route("/<uuid:case_id>/transitions")
@blp.response(200, TransitionSchema(many=True))
@require(P.CASES_READ)
def list_transitions(case_id: uuid.UUID) -> list:
    """The case's history: every state change of it and its referrals (actor, time, note)."""
    case = access_case_by_id(case_id)
    return list(
        db.session.execute(
            sa.select(workflow.Transition)
            .where(workflow.Transition.case_id == case.id)
            .order_by(workflow.Transition.occurred_at, workflow.Transition.id)
        ).scalars()
    )


@blp.route("/<uuid:case_id>/suggestions")
@blp.response(200, SuggestionSchema(many=True))
@require(P.CASES_ASSESS)
def get_suggestions(case_id: uuid.UUID) -> list:
    """Programs of the district evaluated against the person's current facts, eligible first,
    each with the explanation of its rule."""
    from slrt.tenants.program_link import person_facts, suggestions

    case = access_case_by_id(case_id)
    person, household = actions.case_subjects(case)
    return suggestions(person_facts(person, household))


@blp.route("/<uuid:case_id>/assess", methods=["POST"])
@blp.arguments(AssessSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "assess"))
def assess(data: dict, case_id: uuid.UUID) -> Case:
    """Back office: record needs and the DTKS check; programs are suggested with explanations."""
    case = access_case_by_id(case_id, lock=True)
    return _done(actions.assess_case(case, data))


@blp.route("/<uuid:case_id>/return", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "return"))
def return_for_correction(data: dict, case_id: uuid.UUID) -> Case:
    """Manager / coordinator: send the assessment back for correction (reason required)."""
    case = access_case_by_id(case_id, lock=True)
    return _done(actions.return_case(case, data["reason"]))


@blp.route("/<uuid:case_id>/decide", methods=["POST"])
@blp.arguments(DecideSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "decide"))
def decide(data: dict, case_id: uuid.UUID) -> Case:
    """Manager / coordinator: approve the chosen programs (one referral per program)."""
    case = access_case_by_id(case_id, lock=True)
    actions.decide_case(case, data["program_ids"], data.get("note"))
    return _done(case)


@blp.route("/<uuid:case_id>/refer", methods=["POST"])
@blp.arguments(CaseNoteSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "refer"))
def refer(data: dict, case_id: uuid.UUID) -> Case:
    """Send the referrals to their agencies, each with a numbered letter; deadlines start."""
    case = access_case_by_id(case_id, lock=True)
    actions.refer_case(case, data.get("note"))
    return _done(case)


@blp.route("/<uuid:case_id>/follow-up", methods=["POST"])
@blp.arguments(FollowUpSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "follow_up"))
def follow_up(data: dict, case_id: uuid.UUID) -> Case:
    """Facilitator: record the check with the resident once every referral is done."""
    case = access_case_by_id(case_id, lock=True)
    return _done(actions.follow_up_case(case, data["note"]))


@blp.route("/<uuid:case_id>/close", methods=["POST"])
@blp.arguments(CloseSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "close"))
def close(data: dict, case_id: uuid.UUID) -> Case:
    """Close the case as resolved or unresolved."""
    case = access_case_by_id(case_id, lock=True)
    return _done(actions.close_case(case, data["resolution"], data.get("note")))


@blp.route("/<uuid:case_id>/attachments", methods=["POST"])
@blp.arguments(UploadFormSchema, location="form")
@blp.arguments(UploadFileSchema, location="files")
@blp.response(201, AttachmentSchema)
@require(P.CASES_REGISTER)
def upload(form: dict, files: dict, case_id: uuid.UUID) -> CaseAttachment:
    """Attach a KTP, KK, SKTM scan or photo (JPEG, PNG, WebP, HEIC or PDF, checked by content)."""
    case = access_case_by_id(case_id, lock=True)
    upload = files["file"]
    attachment = actions.add_attachment(case, form["kind"], upload.filename, upload.read())
    db.session.commit()
    return attachment


@blp.route("/<uuid:case_id>/attachments/<uuid:attachment_id>")
@blp.response(200, description="The file")
@require(P.CASES_READ)
def download(case_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """Download an attachment (audited as a read of the person's data)."""
    case = access_case_by_id(case_id)
    attachment = db.session.execute(
        sa.select(CaseAttachment).where(
            CaseAttachment.case_id == case.id, CaseAttachment.id == attachment_id
        )
    ).scalar_one_or_none()
    if attachment is None:
        raise Problem(404, Msg("Lampiran tidak ditemukan.", "Attachment not found."))
    record(
        AuditKind.read, "attachment.read", "case_attachment", attachment.id, note=case.ticket_number
    )
    db.session.commit()
    data = store().get(attachment.storage_key)
    return Response(
        data,
        mimetype=attachment.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{attachment.id}"',
            "Cache-Control": "private, no-store",
        },
    )
