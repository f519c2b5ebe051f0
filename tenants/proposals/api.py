"""DTKS proposals (usulan) API: /api/v1/t/<tenant>/dtks-proposals and /dtks-proposal-batches.

proposal: proposed -> in_batch -> accepted | not_accepted
batch:    open (proposals collected) -> held (meeting minutes uploaded) -> verified (district)
          -> exported (CSV/XLSX for SIKS-NG; results may then be recorded per person)

The moves are the "proposal" and "batch" machines of `flow.workflow`; every write is an action of
`proposals.actions`, and the list of proposed persons is audited as a read of their data.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

import sqlalchemy as sa
from flask import Response
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text, nullable_as, page_of
from slrt.platform.errors import Msg, Problem
from slrt.platform.filestore import store
from slrt.platform.region_codes import VILLAGE_CODE
from slrt.tenants.flow.workflow import BATCH_STATES, PROPOSAL_STATES, permission_of
from slrt.tenants.proposals import actions
from slrt.tenants.proposals.access import (
    access_batch_by_id,
    access_proposal_by_id,
    batch_scope,
    proposal_scope,
)
from slrt.tenants.proposals.models import Proposal, ProposalBatch
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry.access import access_person_by_id
from slrt.tenants.registry.actions import record_person_reads
from slrt.tenants.registry.models import Person

blp = TenantBlueprint(
    "proposals",
    __name__,
    "",
    description="DTKS proposals (usulan) for SIKS-NG",
    lookups={"batch_id": access_batch_by_id, "proposal_id": access_proposal_by_id},
)


@nullable_as(Proposal)
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
    status = Text(validate=validate.OneOf(PROPOSAL_STATES))
    village_code = Text(validate=VILLAGE_CODE)
    batch_id = fields.UUID()


@nullable_as(ProposalBatch)
class BatchSchema(Schema):
    id = fields.UUID(dump_only=True)
    village_code = Text(required=True, validate=VILLAGE_CODE)
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
    village_code = Text(validate=VILLAGE_CODE)
    status = Text(validate=validate.OneOf(BATCH_STATES))


class MinutesSchema(Schema):
    file = Upload(required=True)


class ExportQuerySchema(Schema):
    format = Text(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))


class ResultSchema(Schema):
    accepted = fields.Boolean(required=True)
    desil = fields.Integer(allow_none=True, validate=validate.Range(1, 10))
    decided_on = fields.Date()


@blp.route("/dtks-proposals")
@blp.arguments(ProposalQuerySchema, location="query")
@blp.response(200, ProposalSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_proposals(query: dict, pagination_parameters) -> list[Proposal]:
    """DTKS proposals in the caller's region, with the person's name (the list the village
    meeting reads; the read is audited)."""
    stmt = proposal_scope(sa.select(Proposal))
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
    record_person_reads([p.person_id for p in rows], "person.list")
    return rows


@blp.route("/dtks-proposals", methods=["POST"])
@blp.arguments(ProposalSchema)
@blp.response(201, ProposalSchema)
@require(P.PROPOSALS_MANAGE)
def propose(data: dict) -> Proposal:
    """Propose a person who is not in DTKS."""
    person = access_person_by_id(data["person_id"])
    return actions.propose(person, data.get("reason"))


@blp.route("/dtks-proposals/<uuid:proposal_id>/result", methods=["POST"])
@blp.arguments(ResultSchema)
@blp.response(200, ProposalSchema)
@require(permission_of("proposal", "accept"))
def record_result(data: dict, proposal_id: uuid.UUID) -> Proposal:
    """Record the SIKS-NG result for one person; the household's DTKS status follows it."""
    proposal = access_proposal_by_id(proposal_id, lock=True)
    return actions.record_result(
        proposal, data["accepted"], data.get("desil"), data.get("decided_on")
    )


@blp.route("/dtks-proposal-batches")
@blp.arguments(BatchQuerySchema, location="query")
@blp.response(200, BatchSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_batches(query: dict, pagination_parameters) -> list[ProposalBatch]:
    """Proposal batches in the caller's region."""
    stmt = batch_scope(sa.select(ProposalBatch))
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
@require(permission_of("proposal", "batch"))
def create_batch(data: dict) -> ProposalBatch:
    """Collect the village's open proposals into a batch for its meeting (musdes / muskel)."""
    return actions.create_batch(
        data["village_code"], data["meeting_kind"], data.get("meeting_date")
    )


@blp.route("/dtks-proposal-batches/<uuid:batch_id>")
@blp.response(200, BatchSchema)
@require(P.REGISTRY_READ)
def get_batch(batch_id: uuid.UUID) -> ProposalBatch:
    """One proposal batch."""
    return actions.batch_size(access_batch_by_id(batch_id))


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/minutes", methods=["POST"])
@blp.arguments(MinutesSchema, location="files")
@blp.response(200, BatchSchema)
@require(permission_of("batch", "minutes"))
def upload_minutes(files: dict, batch_id: uuid.UUID) -> ProposalBatch:
    """Upload the meeting minutes (berita acara; PDF or image): the batch becomes 'held'."""
    batch = access_batch_by_id(batch_id, lock=True)
    upload = files["file"]
    return actions.upload_minutes(batch, upload.filename, upload.read())


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/minutes")
@blp.response(200, description="The meeting minutes as uploaded")
@require(P.REGISTRY_READ)
def download_minutes(batch_id: uuid.UUID) -> Response:
    """The meeting minutes (berita acara) of a batch, for the district's verification."""
    return minutes_response(access_batch_by_id(batch_id))


def minutes_response(batch: ProposalBatch) -> Response:
    """The minutes as uploaded (for the API and the batch's page alike), or 404."""
    if not batch.minutes_key:
        raise Problem(
            404, Msg("Berita acara belum diunggah.", "The minutes have not been uploaded.")
        )
    extension = PurePath(batch.minutes_filename or "").suffix
    return Response(
        store().get(batch.minutes_key),
        mimetype=batch.minutes_content_type,
        headers={
            "Content-Disposition": f'attachment; filename="berita-acara-{batch.id.hex[:8]}{extension}"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/verify", methods=["POST"])
@blp.response(200, BatchSchema)
@require(permission_of("batch", "verify"))
def verify_batch(batch_id: uuid.UUID) -> ProposalBatch:
    """District verification of a batch whose meeting was held."""
    return actions.verify_batch(access_batch_by_id(batch_id, lock=True))


@blp.route("/dtks-proposal-batches/<uuid:batch_id>/export", methods=["POST"])
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="CSV or XLSX for SIKS-NG")
@require(permission_of("batch", "export"))
def export_batch(query: dict, batch_id: uuid.UUID) -> Response:
    """Export a verified batch for SIKS-NG (CSV or XLSX, formula-safe); audited as an export."""
    batch = access_batch_by_id(batch_id, lock=True)
    return export_response(actions.export_batch(batch, query["format"]))


def export_response(export: actions.ExportFile) -> Response:
    """The SIKS-NG file as a download (for the API and the batch's page alike)."""
    return Response(
        export.body,
        mimetype=export.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )
