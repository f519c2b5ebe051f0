"""DTKS proposals (usulan) API: /api/v1/t/<tenant>/dtks-proposals and /dtks-proposal-batches.

proposal: proposed -> in_batch -> accepted | not_accepted
batch:    open (proposals collected) -> held (meeting minutes uploaded) -> verified (district)
          -> exported (CSV/XLSX for SIKS-NG; results may then be recorded per person)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import sqlalchemy as sa
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from openpyxl import Workbook

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db, region_codes
from slrt.platform.api import Schema, TenantBlueprint, Text, page_of
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.filestore import DOCUMENTS, check_upload, new_key, store
from slrt.platform.tenancy import current_tenant
from slrt.tenants.proposals.access import access_batch_by_id, access_proposal_by_id
from slrt.tenants.proposals.models import Proposal, ProposalBatch
from slrt.tenants.regions.access import check_village, village_name
from slrt.tenants.registry.access import access_person_by_id
from slrt.tenants.registry.models import DtksStatus, Household, Person

blp = TenantBlueprint(
    "proposals",
    __name__,
    "",
    description="DTKS proposals (usulan) for SIKS-NG",
    lookups={"batch_id": access_batch_by_id, "proposal_id": access_proposal_by_id},
)

VILLAGE = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$", error="String does not match expected pattern."
)


class ProposalSchema(Schema):
    id = fields.UUID(dump_only=True)
    person_id = fields.UUID(required=True)
    person_name = Text(dump_only=True)
    village_code = Text(dump_only=True)
    batch_id = fields.UUID(dump_only=True)
    reason = Text(validate=validate.Length(0, 2000))
    status = Text(dump_only=True)
    result_desil = fields.Integer(dump_only=True)
    result_on = fields.Date(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ProposalQuerySchema(Schema):
    status = Text(validate=validate.OneOf(["proposed", "in_batch", "accepted", "not_accepted"]))
    village_code = Text(validate=VILLAGE)
    batch_id = fields.UUID()


class BatchSchema(Schema):
    id = fields.UUID(dump_only=True)
    village_code = Text(required=True, validate=VILLAGE)
    village_name = fields.Method("_village_name", dump_only=True)
    meeting_kind = Text(required=True, validate=validate.OneOf(["musdes", "muskel"]))
    meeting_date = fields.Date()
    status = Text(dump_only=True)
    minutes_filename = Text(dump_only=True)
    proposal_count = fields.Integer(dump_only=True)
    verified_at = fields.DateTime(dump_only=True)
    exported_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _village_name(self, obj) -> str | None:
        return village_name(obj.village_code)


class BatchQuerySchema(Schema):
    village_code = Text(validate=VILLAGE)
    status = Text(validate=validate.OneOf(["open", "held", "verified", "exported"]))


class MinutesSchema(Schema):
    file = Upload(required=True)


class ExportQuerySchema(Schema):
    format = Text(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))


class ResultSchema(Schema):
    accepted = fields.Boolean(required=True)
    desil = fields.Integer(allow_none=True, validate=validate.Range(1, 10))
    decided_on = fields.Date()


def _state_conflict(what: str, state: str, allowed: str) -> Problem:
    return Problem(
        409,
        Msg(
            f"{what} berstatus '{state}'; tindakan ini hanya untuk status '{allowed}'.",
            f"The {what.lower()} is '{state}'; this action needs status '{allowed}'.",
        ),
        current_state=state,
    )


def _count(batch: ProposalBatch) -> ProposalBatch:
    batch.proposal_count = db.session.execute(
        sa.select(sa.func.count()).where(Proposal.batch_id == batch.id)
    ).scalar()
    return batch


@blp.route("/dtks-proposals")
@blp.arguments(ProposalQuerySchema, location="query")
@blp.response(200, ProposalSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_proposals(query: dict, pagination_parameters) -> list[Proposal]:
    """DTKS proposals in the caller's region, with the person's name (the list the village
    meeting reads; the read is audited)."""
    stmt = sa.select(Proposal).where(current_principal().region_clause(Proposal.village_code))
    for key in ("status", "village_code", "batch_id"):
        if query.get(key):
            stmt = stmt.where(getattr(Proposal, key) == query[key])
    rows = page_of(stmt, pagination_parameters, Proposal.id)
    names = dict(
        db.session.execute(
            sa.select(Person.id, Person.name).where(Person.id.in_([p.person_id for p in rows]))
        ).all()
    )
    for proposal in rows:
        proposal.person_name = names.get(proposal.person_id)
    if rows:
        record(
            AuditKind.read,
            "person.list",
            "person",
            None,
            after={"person_ids": [str(p.person_id) for p in rows]},
        )
        db.session.commit()
    return rows


@blp.route("/dtks-proposals", methods=["POST"])
@blp.arguments(ProposalSchema)
@blp.response(201, ProposalSchema)
@require(P.PROPOSALS_MANAGE)
def propose(data: dict) -> Proposal:
    """Propose a person who is not in DTKS."""
    person = access_person_by_id(data["person_id"])
    if person.erased_at is not None or not person.nik:
        raise Problem(409, Msg("Data orang ini sudah dihapus.", "This person's data was erased."))
    if person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
        if household.dtks_status == DtksStatus.in_dtks:
            raise Problem(
                409,
                Msg(
                    "Keluarga orang ini sudah terdaftar di DTKS.",
                    "This person's household is already in DTKS.",
                ),
            )
    open_one = db.session.execute(
        sa.select(Proposal.id).where(
            Proposal.person_id == person.id, Proposal.status.in_(["proposed", "in_batch"])
        )
    ).scalar_one_or_none()
    if open_one is not None:
        raise Problem(
            409,
            Msg("Orang ini sudah diusulkan.", "This person is already proposed."),
            existing_proposal_id=str(open_one),
        )
    proposal = Proposal(
        person_id=person.id,
        village_code=person.village_code,
        reason=data.get("reason"),
        status="proposed",
    )
    db.session.add(proposal)
    db.session.flush()
    record(AuditKind.workflow, "proposal.create", "dtks_proposal", proposal.id)
    db.session.commit()
    return proposal


@blp.route("/dtks-proposals/<uuid:proposal_id>/result", methods=["POST"])
@blp.arguments(ResultSchema)
@blp.response(200, ProposalSchema)
@require(P.PROPOSALS_VERIFY)
def record_result(data: dict, proposal_id: uuid.UUID) -> Proposal:
    """Record the SIKS-NG result for one person; the household's DTKS status follows it."""
    proposal = access_proposal_by_id(proposal_id, lock=True)
    batch = (
        db.session.get(ProposalBatch, (proposal.tenant_id, proposal.batch_id))
        if proposal.batch_id
        else None
    )
    if batch is None or batch.status != "exported":
        raise _state_conflict("Berkas usulan", batch.status if batch else "-", "exported")
    if proposal.status != "in_batch":
        raise _state_conflict("Usulan", proposal.status, "in_batch")
    if data.get("desil") is not None and not data["accepted"]:
        raise field_problem(
            422,
            "desil",
            Msg("Desil hanya diisi bila usulan diterima.", "A desil is only given when accepted."),
        )
    decided_on = data.get("decided_on") or dt.date.today()
    proposal.status = "accepted" if data["accepted"] else "not_accepted"
    proposal.result_desil = data.get("desil")
    proposal.result_on = decided_on
    person = db.session.get(Person, (proposal.tenant_id, proposal.person_id))
    if person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
        household.dtks_status = DtksStatus.in_dtks if data["accepted"] else DtksStatus.not_in_dtks
        household.desil = data.get("desil") if data["accepted"] else None
        household.dtks_checked_on = decided_on
    record(
        AuditKind.workflow,
        "proposal.result",
        "dtks_proposal",
        proposal.id,
        after={"status": proposal.status, "desil": proposal.result_desil},
    )
    db.session.commit()
    return proposal


@blp.route("/dtks-proposal-batches")
@blp.arguments(BatchQuerySchema, location="query")
@blp.response(200, BatchSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_batches(query: dict, pagination_parameters) -> list[ProposalBatch]:
    """Proposal batches in the caller's region."""
    stmt = sa.select(ProposalBatch).where(
        current_principal().region_clause(ProposalBatch.village_code)
    )
    for key in ("status", "village_code"):
        if query.get(key):
            stmt = stmt.where(getattr(ProposalBatch, key) == query[key])
    rows = page_of(stmt, pagination_parameters, ProposalBatch.id)
    counts = dict(
        db.session.execute(
            sa.select(Proposal.batch_id, sa.func.count())
            .where(Proposal.batch_id.in_([b.id for b in rows]))
            .group_by(Proposal.batch_id)
        ).all()
    )
    for batch in rows:
        batch.proposal_count = counts.get(batch.id, 0)
    return rows


@blp.route("/dtks-proposal-batches", methods=["POST"])
@blp.arguments(BatchSchema)
@blp.response(201, BatchSchema)
@require(P.PROPOSALS_MANAGE)
def create_batch(data: dict) -> ProposalBatch:
    """Collect the village's open proposals into a batch for its meeting (musdes / muskel)."""
    code = check_village(data["village_code"])
    kind = region_codes.village_kind(code)
    expected = "muskel" if kind == "kelurahan" else "musdes"
    if data["meeting_kind"] != expected:
        raise field_problem(
            422,
            "meeting_kind",
            Msg(f"Untuk {kind} rapatnya {expected}.", f"A {kind} holds a {expected}."),
        )
    proposals = list(
        db.session.execute(
            sa.select(Proposal)
            .where(Proposal.village_code == code, Proposal.status == "proposed")
            .with_for_update()
        ).scalars()
    )
    if not proposals:
        raise Problem(
            409,
            Msg(
                "Tidak ada usulan baru di desa/kelurahan ini.",
                "There are no new proposals in this village.",
            ),
        )
    batch = ProposalBatch(
        village_code=code,
        meeting_kind=data["meeting_kind"],
        meeting_date=data.get("meeting_date"),
        status="open",
    )
    db.session.add(batch)
    db.session.flush()
    for proposal in proposals:
        proposal.batch_id = batch.id
        proposal.status = "in_batch"
    record(
        AuditKind.workflow,
        "proposal_batch.create",
        "dtks_proposal_batch",
        batch.id,
        after={"proposals": len(proposals)},
    )
    db.session.commit()
    return _count(batch)


@blp.route("/dtks-proposal-batches/<uuid:batch_id>")
@blp.response(200, BatchSchema)
@require(P.REGISTRY_READ)
def get_batch(batch_id: uuid.UUID) -> ProposalBatch:
    """One proposal batch."""
    return _count(access_batch_by_id(batch_id))


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/minutes", methods=["POST"])
@blp.arguments(MinutesSchema, location="files")
@blp.response(200, BatchSchema)
@require(P.PROPOSALS_MANAGE)
def upload_minutes(files: dict, batch_id: uuid.UUID) -> ProposalBatch:
    """Upload the meeting minutes (berita acara; PDF or image): the batch becomes 'held'."""
    batch = access_batch_by_id(batch_id, lock=True)
    if batch.status not in ("open", "held"):
        raise _state_conflict("Berkas usulan", batch.status, "open")
    upload = files["file"]
    checked = check_upload(upload.read(), DOCUMENTS)
    check_count(Quota.STORAGE, adding=checked.size)  # the plan's storage (403 when full)
    key = new_key(current_tenant().id, "minutes", checked.extension)
    old_key = batch.minutes_key
    batch.minutes_key = key
    batch.minutes_filename = (upload.filename or f"berita-acara.{checked.extension}")[-255:]
    batch.minutes_content_type = checked.content_type
    batch.status = "held"
    record(AuditKind.workflow, "proposal_batch.minutes", "dtks_proposal_batch", batch.id)
    db.session.flush()
    store().put(key, checked.data, checked.content_type)
    db.session.commit()
    if old_key:
        store().delete(old_key)
    return _count(batch)


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/minutes")
@blp.response(200, description="The meeting minutes as uploaded")
@require(P.REGISTRY_READ)
def download_minutes(batch_id: uuid.UUID) -> Response:
    """The meeting minutes (berita acara) of a batch, for the district's verification."""
    batch = access_batch_by_id(batch_id)
    if not batch.minutes_key:
        raise Problem(
            404, Msg("Berita acara belum diunggah.", "The minutes have not been uploaded.")
        )
    return Response(
        store().get(batch.minutes_key),
        mimetype=batch.minutes_content_type,
        headers={
            "Content-Disposition": f'attachment; filename="berita-acara-{batch.id.hex[:8]}"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/verify", methods=["POST"])
@blp.response(200, BatchSchema)
@require(P.PROPOSALS_VERIFY)
def verify_batch(batch_id: uuid.UUID) -> ProposalBatch:
    """District verification of a batch whose meeting was held."""
    batch = access_batch_by_id(batch_id, lock=True)
    if batch.status != "held":
        raise _state_conflict("Berkas usulan", batch.status, "held")
    batch.status = "verified"
    batch.verified_at = dt.datetime.now(dt.UTC)
    record(AuditKind.workflow, "proposal_batch.verify", "dtks_proposal_batch", batch.id)
    db.session.commit()
    return _count(batch)


EXPORT_COLUMNS = (
    "NIK",
    "NO_KK",
    "NAMA",
    "JENIS_KELAMIN",
    "TEMPAT_LAHIR",
    "TANGGAL_LAHIR",
    "HUBUNGAN_KELUARGA",
    "ALAMAT",
    "KODE_WILAYAH",
    "DESA_KELURAHAN",
    "KECAMATAN",
    "ALASAN_USULAN",
)


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formula injection: text starting with = + - @ (or a control
    character) gets a leading apostrophe, so Excel shows it as text."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _export_rows(batch: ProposalBatch) -> list[list[object]]:
    rows = db.session.execute(
        sa.select(Proposal, Person, Household)
        .join(
            Person, sa.and_(Person.tenant_id == Proposal.tenant_id, Person.id == Proposal.person_id)
        )
        .outerjoin(
            Household,
            sa.and_(Household.tenant_id == Person.tenant_id, Household.id == Person.household_id),
        )
        .where(Proposal.batch_id == batch.id)
        .order_by(Person.nik)
    ).all()
    out = []
    for proposal, person, household in rows:
        out.append(
            [
                safe_cell(value)
                for value in (
                    person.nik,
                    household.kk_number if household else "",
                    person.name,
                    person.sex,
                    person.birth_place or "",
                    person.birth_date.isoformat() if person.birth_date else "",
                    person.relation or "",
                    household.address if household and household.address else "",
                    person.village_code,
                    region_codes.name_of(person.village_code) or "",
                    region_codes.name_of(person.village_code[:8]) or "",
                    proposal.reason or "",
                )
            ]
        )
    return out


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/export", methods=["POST"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="CSV or XLSX for SIKS-NG")
@require(P.PROPOSALS_VERIFY)
def export_batch(query: dict, batch_id: uuid.UUID) -> Response:
    """Export a verified batch for SIKS-NG (CSV or XLSX, formula-safe); audited as an export."""
    batch = access_batch_by_id(batch_id, lock=True)
    if batch.status not in ("verified", "exported"):
        raise _state_conflict("Berkas usulan", batch.status, "verified")
    rows = _export_rows(batch)
    name = f"usulan-dtks-{batch.village_code}-{batch.id.hex[:8]}"
    if query["format"] == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(rows)
        body, mimetype, name = buf.getvalue().encode("utf-8-sig"), "text/csv", name + ".csv"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("usulan")
        sheet.append(list(EXPORT_COLUMNS))
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        body = out.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name += ".xlsx"
    if batch.status == "verified":
        batch.status = "exported"
        batch.exported_at = dt.datetime.now(dt.UTC)
    record(
        AuditKind.export,
        "proposal_batch.export",
        "dtks_proposal_batch",
        batch.id,
        after={"format": query["format"], "rows": len(rows)},
    )
    db.session.commit()
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
