"""Field app API: /api/v1/t/<tenant>/field/... A device's outbox is synced item by item with
idempotency keys (`/field/sync`), photos arrive in resumable pieces (`/field/uploads`), and the
reference data a device keeps offline comes with its version (`/field/reference`). The field
app's pages call the same functions through the signed-in session (`web.py`)."""

from __future__ import annotations

import uuid

from flask import request
from marshmallow import fields

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform.api import Schema, TenantBlueprint
from slrt.tenants.field import actions
from slrt.tenants.field.access import access_upload_by_id
from slrt.tenants.field.models import FieldUpload
from slrt.tenants.field.reference import reference
from slrt.tenants.field.sync import (
    PieceQuerySchema,
    SyncRequestSchema,
    SyncResponseSchema,
    UploadSchema,
    UploadStartSchema,
    sync_items,
)

blp = TenantBlueprint(
    "field",
    __name__,
    "/field",
    description="Field app: offline capture synced with idempotency keys, photos in pieces",
    lookups={"upload_id": access_upload_by_id},
)


class ReferenceSchema(Schema):
    version = fields.String(metadata={"description": "Changes whenever anything below does"})
    district = fields.Dict()
    villages = fields.List(fields.Dict(), metadata={"description": "The caller's villages"})
    regencies = fields.List(fields.String(), metadata={"description": "Every kab/kota, 4 digits"})
    kecamatan = fields.List(
        fields.String(), metadata={"description": "This district's kecamatan, 6 digits"}
    )
    programs = fields.List(fields.Dict())
    follow_ups = fields.List(fields.Dict(), metadata={"description": "Cases to follow up"})
    draft_days = fields.Integer(metadata={"description": "Days a draft may wait unsynced"})


@blp.route("/sync", methods=["POST"])
@blp.arguments(SyncRequestSchema)
@blp.response(200, SyncResponseSchema)
@require(P.CASES_REGISTER)
def sync(body: dict) -> dict:
    """Apply a device's outbox in order, each item once per key (a replay answers the stored
    result). Each item has its own outcome: applied, conflict (with choices), refused (with
    the reason), invalid (field problems) or retry."""
    return sync_items(body["items"])


@blp.route("/reference")
@blp.response(200, ReferenceSchema)
@require(P.CASES_REGISTER)
def get_reference() -> dict:
    """What the device keeps offline: villages, NIK region codes, programs, follow-ups."""
    return reference()


@blp.route("/uploads", methods=["POST"])
@blp.arguments(UploadStartSchema)
@blp.response(200, UploadSchema)
@require(P.CASES_REGISTER)
def start_upload(body: dict) -> FieldUpload:
    """Announce a photo (size, SHA-256) under a key made on the device; the same key again
    answers the same upload with the bytes received so far."""
    return actions.start_upload(body["key"], body["size"], body["sha256"])


@blp.route("/uploads/<uuid:upload_id>")
@blp.response(200, UploadSchema)
@require(P.CASES_REGISTER)
def get_upload(upload_id: uuid.UUID) -> FieldUpload:
    """How much of the photo has arrived (where to resume)."""
    return access_upload_by_id(upload_id)


@blp.route("/uploads/<uuid:upload_id>/pieces", methods=["POST"])
@blp.arguments(PieceQuerySchema, location="query")
@blp.response(200, UploadSchema)
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
)
@require(P.CASES_REGISTER)
def add_piece(query: dict, upload_id: uuid.UUID) -> FieldUpload:
    """The next piece of the photo (at most 256 KB), starting at byte `offset`."""
    upload = access_upload_by_id(upload_id, lock=True)
    return actions.add_piece(upload, query["offset"], request.get_data(cache=False))
