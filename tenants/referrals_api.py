"""Referrals API: /api/v1/t/<tenant>/referrals: the agency inbox, responses, deadlines, letters.

Agency officers see only referrals to their own agency (`referral_scope`); everyone sees only
their region. `?overdue=true` lists open referrals past their due date.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from flask import Response
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db, regions
from slrt.platform.api import Schema, TenantBlueprint, Text
from slrt.platform.audit import AuditKind, record
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants import flow_actions as actions
from slrt.tenants import workflow
from slrt.tenants.cases import Case, CaseNeed, Referral
from slrt.tenants.deadlines import overdue_clause
from slrt.tenants.flow_support import (
    access_referral_by_id,
    referral_scope,
    village_name,
)
from slrt.tenants.letters import Letter, person_lines, render_pdf, verification_url
from slrt.tenants.workflow import permission_of

blp = TenantBlueprint(
    "referrals", __name__, "/referrals", description="Referrals: agency inbox and responses"
)

VILLAGE = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$", error="String does not match expected pattern."
)
KECAMATAN = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}$", error="String does not match expected pattern."
)


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
        label = workflow.label(obj.status)
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
    village_code = Text(validate=VILLAGE)
    kecamatan_code = Text(validate=KECAMATAN)
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
    for referral, ticket, number in rows:
        referral.ticket_number = ticket
        referral.letter_number = number
        out.append(referral)
    return out


@blp.route("")
@blp.arguments(ReferralQuerySchema, location="query")
@blp.response(200, ReferralSchema(many=True))
@blp.paginate()
@require(P.REFERRALS_READ)
def list_referrals(query: dict, pagination_parameters) -> list[Referral]:
    """Referrals in the caller's region (agency officers: their agency's only); filter by status,
    agency, village, kecamatan, case, overdue."""
    stmt = referral_scope(sa.select(Referral))
    for key in ("status", "agency_id", "village_code", "case_id"):
        if query.get(key):
            stmt = stmt.where(getattr(Referral, key) == query[key])
    if query.get("kecamatan_code"):
        stmt = stmt.where(Referral.village_code.like(query["kecamatan_code"] + ".%"))
    if query.get("overdue") is True:
        stmt = stmt.where(overdue_clause())
    pagination_parameters.item_count = db.session.execute(
        sa.select(sa.func.count()).select_from(stmt.subquery())
    ).scalar()
    rows = db.session.execute(
        _listing(stmt.add_columns(Case.ticket_number, Letter.number))
        .order_by(Referral.id.desc())
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    ).all()
    return _with_extras(rows)


def _detail(referral: Referral) -> Referral:
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
    referral.needs = [
        f"{n.sector}: {n.description}"
        for n in db.session.execute(
            sa.select(CaseNeed).where(CaseNeed.case_id == case.id).order_by(CaseNeed.id)
        ).scalars()
    ]
    if person is not None:
        record(AuditKind.read, "person.read", "person", person.id, note=f"referral {referral.id}")
    return referral


class OverdueQuerySchema(Schema):
    group_by = Text(required=True, validate=validate.OneOf(["village", "kecamatan", "agency"]))


class OverdueGroupSchema(Schema):
    key = Text()
    name = Text()
    overdue = fields.Integer()
    oldest_due_at = fields.DateTime()


@blp.route("/overdue-summary")
@blp.arguments(OverdueQuerySchema, location="query")
@blp.response(200, OverdueGroupSchema(many=True))
@require(P.REFERRALS_READ)
def overdue_summary(query: dict) -> list[dict]:
    """Overdue referrals counted per village, kecamatan or agency (in the caller's scope), most
    overdue first: where escalation should look."""
    if query["group_by"] == "agency":
        key = sa.cast(Referral.agency_id, sa.String)
        label = sa.func.min(Referral.agency_name)
    elif query["group_by"] == "kecamatan":
        key = sa.func.substr(Referral.village_code, 1, 8)
        label = sa.null()
    else:
        key = Referral.village_code
        label = sa.null()
    rows = db.session.execute(
        referral_scope(
            sa.select(
                key.label("key"),
                label.label("name"),
                sa.func.count().label("overdue"),
                sa.func.min(Referral.due_at).label("oldest_due_at"),
            ).where(overdue_clause())
        )
        .group_by(key)
        .order_by(sa.func.min(Referral.due_at), key)
    ).all()
    out = []
    for row in rows:
        item = dict(row._mapping)
        if item["name"] is None:
            item["name"] = (
                village_name(item["key"])
                if query["group_by"] == "village"
                else (regions.name_of(item["key"]))
            )
        out.append(item)
    return out


@blp.route("/<uuid:referral_id>")
@blp.response(200, ReferralDetailSchema)
@require(P.REFERRALS_READ)
def get_referral(referral_id: uuid.UUID) -> Referral:
    """One referral with the person it is for (audited read)."""
    referral = _detail(access_referral_by_id(referral_id))
    db.session.commit()
    return referral


def _respond(referral_id: uuid.UUID, action: str, text: str | None) -> Referral:
    referral = access_referral_by_id(referral_id, lock=True)
    actions.respond(referral, action, text)
    _detail(referral)
    db.session.commit()
    return referral


@blp.route("/<uuid:referral_id>/receive", methods=["POST"])
@blp.arguments(ReferralNoteSchema)
@blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "receive"))
def receive(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the referral has arrived."""
    return _respond(referral_id, "receive", data.get("note"))


@blp.route("/<uuid:referral_id>/accept", methods=["POST"])
@blp.arguments(ReferralNoteSchema)
@blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "accept"))
def accept(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the person will be served."""
    return _respond(referral_id, "accept", data.get("note"))


@blp.route("/<uuid:referral_id>/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "reject"))
def reject(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: refuse, with the reason."""
    return _respond(referral_id, "reject", data["reason"])


@blp.route("/<uuid:referral_id>/fulfil", methods=["POST"])
@blp.arguments(FulfilSchema)
@blp.response(200, ReferralDetailSchema)
@require(permission_of("referral", "fulfil"))
def fulfil(data: dict, referral_id: uuid.UUID) -> Referral:
    """Agency: the service was given; record the outcome."""
    return _respond(referral_id, "fulfil", data["outcome"])


def _letter_of(referral: Referral) -> Letter:
    letter = db.session.execute(
        sa.select(Letter).where(Letter.referral_id == referral.id)
    ).scalar_one_or_none()
    if letter is None:
        raise Problem(
            404,
            Msg(
                "Surat rujukan belum terbit (rujukan belum dikirim).",
                "No letter yet (the referral has not been sent).",
            ),
        )
    return letter


@blp.route("/<uuid:referral_id>/letter")
@blp.response(200, LetterSchema)
@require(P.REFERRALS_READ)
def get_letter(referral_id: uuid.UUID) -> Letter:
    """The referral letter's number and verification link."""
    referral = access_referral_by_id(referral_id)
    letter = _letter_of(referral)
    tenant = db.session.get(Tenant, current_tenant().id)
    letter.verification_url = verification_url(tenant, letter.token)
    letter.pdf_url = f"/api/v1/t/{tenant.slug}/referrals/{referral.id}/letter.pdf"
    return letter


@blp.route("/<uuid:referral_id>/letter.pdf")
@blp.response(200, description="The letter as PDF")
@require(P.REFERRALS_READ)
def letter_pdf(referral_id: uuid.UUID) -> Response:
    """The referral letter as a PDF with the district letterhead and a QR code (audited)."""
    referral = access_referral_by_id(referral_id)
    letter = _letter_of(referral)
    case = db.session.execute(sa.select(Case).where(Case.id == referral.case_id)).scalar_one()
    person, household = actions.case_subjects(case)
    needs = [
        n.description
        for n in db.session.execute(
            sa.select(CaseNeed).where(CaseNeed.case_id == case.id).order_by(CaseNeed.id)
        ).scalars()
    ]
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
    record(
        AuditKind.letter,
        "letter.print",
        "letter",
        letter.id,
        after={"number": letter.number, "person_id": str(person.id) if person else None},
    )
    db.session.commit()
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


@blp.route("/<uuid:referral_id>/letter/revoke", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(200, LetterSchema)
@require(P.LETTERS_ISSUE)
def revoke_letter(data: dict, referral_id: uuid.UUID) -> Letter:
    """Revoke a letter (lost, wrong data): its verification page then says so."""
    referral = access_referral_by_id(referral_id)
    letter = db.session.execute(
        sa.select(Letter).where(Letter.referral_id == referral.id).with_for_update()
    ).scalar_one_or_none()
    if letter is None:
        _letter_of(referral)
    if letter.revoked_at is not None:
        raise Problem(409, Msg("Surat ini sudah dicabut.", "This letter is already revoked."))
    letter.revoked_at = dt.datetime.now(dt.UTC)
    record(AuditKind.letter, "letter.revoke", "letter", letter.id, note=data["reason"])
    db.session.commit()
    tenant = db.session.get(Tenant, current_tenant().id)
    letter.verification_url = verification_url(tenant, letter.token)
    letter.pdf_url = f"/api/v1/t/{tenant.slug}/referrals/{referral.id}/letter.pdf"
    return letter
