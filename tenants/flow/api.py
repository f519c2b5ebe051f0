"""Service-flow API: /api/v1/t/<tenant>/cases (intake, assessment, decision, referral, follow-up,
closure, attachments) and /referrals (the agencies' inbox and responses, the referral letter).

Each state change is its own operation with the permission the transition table gives it
(`workflow.permission_of`); an action the record's state does not allow answers 409 naming the
current state and the allowed actions. Every write is an action of `flow.actions`; showing a
person's data is audited as a read.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import (
    Schema,
    TenantBlueprint,
    Text,
    check_if_match,
    nullable_as,
    page_joined,
    page_of,
)
from slrt.platform.audit.reads import note_links, personal_data
from slrt.platform.filestore import store
from slrt.platform.region_codes import KECAMATAN_CODE, VILLAGE_CODE
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.flow import actions as actions
from slrt.tenants.flow import workflow
from slrt.tenants.flow.access import (
    access_attachment_by_id,
    access_case_by_id,
    access_referral_by_id,
    case_scope,
    letter_of,
    referral_scope,
    referral_scope_key,
)
from slrt.tenants.flow.deadlines import overdue_clause, overdue_groups
from slrt.tenants.flow.letters import person_lines, render_pdf, verification_url
from slrt.tenants.flow.models import (
    AttachmentKind,
    Case,
    CaseAttachment,
    CaseKind,
    CaseNeed,
    Channel,
    Letter,
    Referral,
)
from slrt.tenants.flow.workflow import permission_of
from slrt.tenants.programs.models import Sector
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry.actions import record_person_reads
from slrt.tenants.registry.models import DtksStatus

blp = TenantBlueprint(
    "cases",
    __name__,
    "/cases",
    description="Cases (layanan / keluhan) and their workflow",
    lookups={"case_id": access_case_by_id, "attachment_id": access_attachment_by_id},
)


class NeedSchema(Schema):
    sector = Text(required=True, validate=validate.OneOf([s.value for s in Sector]))
    description = Text(required=True, validate=validate.Length(1, 2000))


class CaseCreateSchema(Schema):
    kind = Text(required=True, validate=validate.OneOf([k.value for k in CaseKind]))
    channel = Text(required=True, validate=validate.OneOf([c.value for c in Channel]))
    person_id = fields.UUID(allow_none=True)
    household_id = fields.UUID(allow_none=True)
    village_code = Text(validate=VILLAGE_CODE)
    description = Text(required=True, validate=validate.Length(1, 5000))
    needs = fields.List(fields.Nested(NeedSchema), load_default=list)


class CaseUpdateSchema(Schema):
    kind = Text(validate=validate.OneOf([k.value for k in CaseKind]))
    channel = Text(validate=validate.OneOf([c.value for c in Channel]))
    description = Text(validate=validate.Length(1, 5000))


@nullable_as(Case)
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
        label = workflow.label("case", obj.status)
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
    dtsen = fields.Method(
        "_dtsen",
        metadata={"description": "The latest official DTSEN record: period, desil, stale or not"},
    )

    def _dtsen(self, household) -> dict | None:
        from slrt.tenants.dtsen.api import standing_json

        return standing_json(household)


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
    village_code = Text(validate=VILLAGE_CODE)
    kecamatan_code = Text(validate=KECAMATAN_CODE)
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


def case_needs(case: Case) -> list[CaseNeed]:
    return list(
        db.session.execute(
            sa.select(CaseNeed).where(CaseNeed.case_id == case.id).order_by(CaseNeed.id)
        ).scalars()
    )


def case_detail(case: Case) -> Case:
    """Attach what the detail view shows (three queries, whatever the case's size)."""
    person, household = actions.case_subjects(case)
    case.person = person
    case.household = household
    case.needs = case_needs(case)
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
    return case


def _read(case: Case) -> Case:
    """The loaded detail is answered: the person's data in it is audited as a read."""
    if case.person is not None:
        record_person_reads([case.person.id], note=f"case {case.ticket_number}")
    return case


def _shown(case: Case) -> Case:
    return _read(case_detail(case))


@blp.route("")
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema(many=True))
@blp.paginate()
@require(P.CASES_READ)
@personal_data("case.list")
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
    return _shown(actions.register_case(data))


@blp.route("/<uuid:case_id>")
@blp.etag
@blp.response(200, CaseDetailSchema)
@require(P.CASES_READ)
@personal_data("case.read")
def get_case(case_id: uuid.UUID) -> Case:
    """One case with its person, needs, suggestions, referrals and attachments (audited read)."""
    return _shown(access_case_by_id(case_id))


@blp.route("/<uuid:case_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(CaseUpdateSchema)
@blp.response(200, CaseDetailSchema)
@require(P.CASES_REGISTER)
def patch_case(data: dict, case_id: uuid.UUID) -> Case:
    """Correct the intake (kind, channel, description) before a decision; If-Match required."""
    case = access_case_by_id(case_id, lock=True)
    check_if_match(blp, case_detail(case), CaseDetailSchema)
    # Needs, referrals and attachments are as loaded: the intake fields are all that changes.
    return _read(actions.update_case(case, data))


@blp.route("/<uuid:case_id>/transitions")
@blp.response(200, TransitionSchema(many=True))
@require(P.CASES_READ)
@personal_data("case.transitions")
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
@personal_data("case.read")
def get_suggestions(case_id: uuid.UUID) -> list:
    """Programs of the district evaluated against the person's current facts, eligible first,
    each with the explanation of its rule."""
    from slrt.tenants.dtsen.standing import fact_notes
    from slrt.tenants.programs.eligibility import person_facts, suggestions

    case = access_case_by_id(case_id)
    person, household = actions.case_subjects(case)
    return suggestions(person_facts(person, household), fact_notes(household))


@blp.route("/<uuid:case_id>/assess", methods=["POST"])
@blp.arguments(AssessSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "assess"))
def assess(data: dict, case_id: uuid.UUID) -> Case:
    """Back office: record needs and the DTSEN check; programs are suggested with explanations."""
    case = access_case_by_id(case_id, lock=True)
    return _shown(actions.assess_case(case, data))


@blp.route("/<uuid:case_id>/return", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "return"))
def return_for_correction(data: dict, case_id: uuid.UUID) -> Case:
    """Manager / coordinator: send the assessment back for correction (reason required)."""
    case = access_case_by_id(case_id, lock=True)
    return _shown(actions.return_case(case, data["reason"]))


@blp.route("/<uuid:case_id>/decide", methods=["POST"])
@blp.arguments(DecideSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "decide"))
def decide(data: dict, case_id: uuid.UUID) -> Case:
    """Manager / coordinator: approve the chosen programs (one referral per program)."""
    case = access_case_by_id(case_id, lock=True)
    actions.decide_case(case, data["program_ids"], data.get("note"))
    return _shown(case)


@blp.route("/<uuid:case_id>/refer", methods=["POST"])
@blp.arguments(CaseNoteSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "refer"))
def refer(data: dict, case_id: uuid.UUID) -> Case:
    """Send the referrals to their agencies, each with a numbered letter; deadlines start."""
    case = access_case_by_id(case_id, lock=True)
    actions.refer_case(case, data.get("note"))
    return _shown(case)


@blp.route("/<uuid:case_id>/follow-up", methods=["POST"])
@blp.arguments(FollowUpSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "follow_up"))
def follow_up(data: dict, case_id: uuid.UUID) -> Case:
    """Facilitator: record the check with the resident once every referral is done."""
    case = access_case_by_id(case_id, lock=True)
    return _shown(actions.follow_up_case(case, data["note"]))


@blp.route("/<uuid:case_id>/close", methods=["POST"])
@blp.arguments(CloseSchema)
@blp.response(200, CaseDetailSchema)
@require(permission_of("case", "close"))
def close(data: dict, case_id: uuid.UUID) -> Case:
    """Close the case as resolved or unresolved."""
    case = access_case_by_id(case_id, lock=True)
    return _shown(actions.close_case(case, data["resolution"], data.get("note")))


@blp.route("/<uuid:case_id>/attachments", methods=["POST"])
@blp.arguments(UploadFormSchema, location="form")
@blp.arguments(UploadFileSchema, location="files")
@blp.response(201, AttachmentSchema)
@require(P.CASES_REGISTER)
def upload(form: dict, files: dict, case_id: uuid.UUID) -> CaseAttachment:
    """Attach a KTP, KK, SKTM scan or photo (JPEG, PNG, WebP, HEIC or PDF, checked by content)."""
    case = access_case_by_id(case_id, lock=True)
    upload = files["file"]
    return actions.add_attachment(case, form["kind"], upload.filename, upload.read())


@blp.route("/<uuid:case_id>/attachments/<uuid:attachment_id>")
@blp.response(200, description="The file")
@require(P.CASES_READ)
@personal_data("attachment.read")
def download(case_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """Download an attachment (audited as a read of the person's data)."""
    case = access_case_by_id(case_id)
    return attachment_response(case, access_attachment_by_id(attachment_id, case_id=case.id))


def attachment_response(
    case: Case, attachment: CaseAttachment, *, inline: bool = False
) -> Response:
    """A case's document handed out, audited as a read of the person's data: a download for
    the API, shown in the browser (`inline`) for the pages (its type was checked by content on
    upload)."""
    actions.record_attachment_read(case, attachment)
    data = store().get(attachment.storage_key)
    if inline:
        disposition = f'inline; filename="{attachment.kind}-{attachment.id}"'
    else:
        disposition = f'attachment; filename="{attachment.id}"'
    return Response(
        data,
        mimetype=attachment.content_type,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


referrals_blp = TenantBlueprint(
    "referrals",
    __name__,
    "/referrals",
    description="Referrals: agency inbox and responses",
    lookups={"referral_id": access_referral_by_id},
)


@nullable_as(Referral)
class ReferralSchema(Schema):
    id = fields.UUID(dump_only=True)
    case_id = fields.UUID(dump_only=True)
    ticket_number = Text(dump_only=True)
    program_id = fields.UUID(dump_only=True)
    program_version_id = fields.UUID(dump_only=True)
    program_version = fields.Integer(dump_only=True)
    program_name = Text(dump_only=True)
    agency_id = fields.UUID(dump_only=True)
    agency_name = Text(dump_only=True)
    village_code = Text(dump_only=True)
    village_name = fields.Method("_village_name", dump_only=True)
    status = Text(dump_only=True)
    status_label = fields.Method("_status_label", dump_only=True)
    allowed_actions = fields.Method("_allowed", dump_only=True)
    deadline_days = fields.Integer(dump_only=True)
    sent_at = fields.DateTime(dump_only=True)
    due_at = fields.DateTime(dump_only=True)
    overdue = fields.Method("_overdue", dump_only=True)
    escalation_level = fields.Integer(
        dump_only=True,
        metadata={"description": "0 none, 1 supervisor, 2 manager, 3 flagged to the district"},
    )
    escalated_at = fields.DateTime(dump_only=True)
    district_flagged = fields.Method("_district_flagged", dump_only=True)
    received_at = fields.DateTime(dump_only=True)
    responded_at = fields.DateTime(dump_only=True)
    fulfilled_at = fields.DateTime(dump_only=True)
    rejection_reason = Text(dump_only=True)
    outcome = Text(dump_only=True)
    letter_number = Text(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _village_name(self, obj) -> str | None:
        return village_name(obj.village_code)

    def _status_label(self, obj) -> dict:
        label = workflow.label("referral", obj.status)
        return {"id": str(label), "en": label.en}

    def _allowed(self, obj) -> list[str]:
        return workflow.allowed_actions("referral", obj.status)

    def _district_flagged(self, obj) -> bool:
        return obj.escalation_level >= 3

    def _overdue(self, obj) -> bool:
        return bool(
            obj.status in Referral.OPEN and obj.due_at and obj.due_at < dt.datetime.now(dt.UTC)
        )


class ReferralPersonSchema(Schema):
    name = Text()
    nik = Text()
    born = Text()
    village = Text()
    address = Text()


class ReferralDetailSchema(ReferralSchema):
    person = fields.Nested(ReferralPersonSchema, dump_only=True)
    needs = fields.List(Text(), dump_only=True)
    verification_url = Text(dump_only=True)


class ReferralQuerySchema(Schema):
    status = Text(validate=validate.OneOf(workflow.REFERRAL_STATES))
    agency_id = fields.UUID()
    village_code = Text(validate=VILLAGE_CODE)
    kecamatan_code = Text(validate=KECAMATAN_CODE)
    case_id = fields.UUID()
    overdue = fields.Boolean(truthy={"true", "1", "ya"}, falsy={"false", "0", "tidak"})


class ReferralNoteSchema(Schema):
    note = Text(validate=validate.Length(0, 5000))


class RejectSchema(Schema):
    reason = Text(required=True, validate=validate.Length(1, 5000))


class FulfilSchema(Schema):
    outcome = Text(required=True, validate=validate.Length(1, 5000))


class LetterSchema(Schema):
    id = fields.UUID(dump_only=True)
    referral_id = fields.UUID(dump_only=True)
    number = Text(dump_only=True)
    signer_name = Text(dump_only=True)
    signer_title = Text(dump_only=True)
    issued_at = fields.DateTime(dump_only=True)
    verification_url = Text(dump_only=True)
    pdf_url = Text(dump_only=True)


def _listing(stmt: sa.Select) -> sa.Select:
    return stmt.join(
        Case, sa.and_(Case.tenant_id == Referral.tenant_id, Case.id == Referral.case_id)
    ).outerjoin(
        Letter, sa.and_(Letter.tenant_id == Referral.tenant_id, Letter.referral_id == Referral.id)
    )


def _with_extras(rows) -> list[Referral]:
    out = []
    for referral, ticket, number, _person_id in rows:
        referral.ticket_number = ticket
        referral.letter_number = number
        out.append(referral)
    # The persons the page is about, read with it: the read's audit names them without a query.
    note_links("case", "person", ((r.case_id, person_id) for r, _, _, person_id in rows))
    return out


REFERRAL_FILTERS = ("status", "agency_id", "village_code", "case_id")


@referrals_blp.route("")
@referrals_blp.arguments(ReferralQuerySchema, location="query")
@referrals_blp.response(200, ReferralSchema(many=True))
@referrals_blp.paginate()
@require(P.REFERRALS_READ)
@personal_data("referral.list")
def list_referrals(query: dict, pagination_parameters) -> list[Referral]:
    """Referrals in the caller's region (agency officers: their agency's only); filter by status,
    agency, village, kecamatan, case, overdue."""
    filters = {key: query.get(key) for key in REFERRAL_FILTERS if query.get(key)}

    def ids() -> sa.Select:
        stmt = referral_scope(sa.select(Referral.id))
        for key, value in filters.items():
            stmt = stmt.where(getattr(Referral, key) == value)
        if query.get("kecamatan_code"):
            stmt = stmt.where(Referral.village_code.like(query["kecamatan_code"] + ".%"))
        if query.get("overdue") is True:
            stmt = stmt.where(overdue_clause())
        return stmt

    # The page's ids and the total from the referrals alone (an agency's whole inbox is
    # counted without joining each row to its case and letter), the page's rows joined to them.
    # Built once per caller's scope and filters, except with "overdue", which names the time.
    rows = page_joined(
        ids,
        pagination_parameters,
        Referral.id.desc(),
        lambda page: _listing(
            sa.select(Referral, Case.ticket_number, Letter.number, Case.person_id)
        ).join(page, page.c.id == Referral.id),
        shape=None
        if query.get("overdue") is True
        else (
            "referrals",
            referral_scope_key(),
            tuple(filters.items()),
            query.get("kecamatan_code"),
        ),
    )
    return _with_extras(rows)


def _referral_shown(referral: Referral) -> Referral:
    """The referral with its person, needs and letter, the person's data audited as a read."""
    case = db.session.execute(sa.select(Case).where(Case.id == referral.case_id)).scalar_one()
    person, household = actions.case_subjects(case)
    letter = db.session.execute(
        sa.select(Letter).where(Letter.referral_id == referral.id)
    ).scalar_one_or_none()
    referral.ticket_number = case.ticket_number
    referral.letter_number = letter.number if letter else None
    tenant = db.session.get(Tenant, current_tenant().id)
    referral.verification_url = verification_url(tenant, letter.token) if letter else None
    referral.person = person_lines(person, household)
    referral.needs = [f"{n.sector}: {n.description}" for n in case_needs(case)]
    if person is not None:
        record_person_reads([person.id], note=f"referral {referral.id}")
    return referral


class OverdueQuerySchema(Schema):
    group_by = Text(required=True, validate=validate.OneOf(["village", "kecamatan", "agency"]))


class OverdueGroupSchema(Schema):
    key = Text()
    name = Text()
    overdue = fields.Integer()
    oldest_due_at = fields.DateTime()


@referrals_blp.route("/overdue-summary")
@referrals_blp.arguments(OverdueQuerySchema, location="query")
@referrals_blp.response(200, OverdueGroupSchema(many=True))
@require(P.REFERRALS_READ)
def overdue_summary(query: dict) -> list[dict]:
    """Overdue referrals counted per village, kecamatan or agency (in the caller's scope), most
    overdue first: where escalation should look."""
    return overdue_groups(query["group_by"], referral_scope)


@referrals_blp.route("/<uuid:referral_id>")
@referrals_blp.response(200, ReferralDetailSchema)
@require(P.REFERRALS_READ)
@personal_data("referral.read")
def get_referral(referral_id: uuid.UUID) -> Referral:
    """One referral with the person it is for (audited read)."""
    return _referral_shown(access_referral_by_id(referral_id))


def _respond(referral_id: uuid.UUID, action: str, text: str | None) -> Referral:
    referral = access_referral_by_id(referral_id, lock=True)
    actions.respond(referral, action, text)
    return _referral_shown(referral)


@referrals_blp.route("/<uuid:referral_id>/receive", methods=["POST"])
@referrals_blp.arguments(ReferralNoteSchema)
@referrals_blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "receive"))
def receive(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the referral has arrived."""
    return _respond(referral_id, "receive", data.get("note"))


@referrals_blp.route("/<uuid:referral_id>/accept", methods=["POST"])
@referrals_blp.arguments(ReferralNoteSchema)
@referrals_blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "accept"))
def accept(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the person will be served."""
    return _respond(referral_id, "accept", data.get("note"))


@referrals_blp.route("/<uuid:referral_id>/reject", methods=["POST"])
@referrals_blp.arguments(RejectSchema)
@referrals_blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "reject"))
def reject(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: refuse, with the reason."""
    return _respond(referral_id, "reject", data["reason"])


@referrals_blp.route("/<uuid:referral_id>/fulfil", methods=["POST"])
@referrals_blp.arguments(FulfilSchema)
@referrals_blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "fulfil"))
def fulfil(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the service was given; record the outcome."""
    return _respond(referral_id, "fulfil", data["outcome"])


@referrals_blp.route("/<uuid:referral_id>/letter")
@referrals_blp.response(200, LetterSchema)
@require(P.REFERRALS_READ)
@personal_data("letter.read")
def get_letter(referral_id: uuid.UUID) -> Letter:
    """The referral letter's number and verification link."""
    referral = access_referral_by_id(referral_id)
    return _with_links(referral, letter_of(referral))


def _with_links(referral: Referral, letter: Letter) -> Letter:
    tenant = db.session.get(Tenant, current_tenant().id)
    letter.verification_url = verification_url(tenant, letter.token)
    letter.pdf_url = f"/api/v1/t/{tenant.slug}/referrals/{referral.id}/letter.pdf"
    return letter


@referrals_blp.route("/<uuid:referral_id>/letter.pdf")
@referrals_blp.response(200, description="The letter as PDF")
@require(P.REFERRALS_READ)
@personal_data("letter.print")
def letter_pdf(referral_id: uuid.UUID) -> Response:
    """The referral letter as a PDF with the district letterhead and a QR code (audited)."""
    return letter_pdf_response(access_referral_by_id(referral_id))


def letter_pdf_response(referral: Referral) -> Response:
    """The letter of a referral the caller may read, as the PDF to print (the print audited):
    the API and the pages answer with the same document."""
    letter = letter_of(referral)
    case = db.session.execute(sa.select(Case).where(Case.id == referral.case_id)).scalar_one()
    person, household = actions.case_subjects(case)
    needs = [n.description for n in case_needs(case)]
    tenant = db.session.get(Tenant, current_tenant().id)
    pdf = render_pdf(
        tenant=tenant,
        letter=letter,
        person=person_lines(person, household),
        program_name=referral.program_name,
        agency_name=referral.agency_name,
        ticket_number=case.ticket_number,
        needs=needs,
    )
    actions.record_letter_print(letter, person)
    filename = letter.number.replace("/", "-")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="surat-rujukan-{filename}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


class RevokeSchema(Schema):
    reason = Text(required=True, validate=validate.Length(1, 2000))


@referrals_blp.route("/<uuid:referral_id>/letter/revoke", methods=["POST"])
@referrals_blp.arguments(RevokeSchema)
@referrals_blp.response(200, LetterSchema)
@require(P.LETTERS_ISSUE)
def revoke_letter(data: dict, referral_id: uuid.UUID) -> Letter:
    """Revoke a letter (lost, wrong data): its verification page then says so."""
    referral = access_referral_by_id(referral_id)
    letter = actions.revoke_letter(letter_of(referral, lock=True), data["reason"])
    return _with_links(referral, letter)
