"""Agencies (OPD) of a district: /api/v1/t/<tenant>/agencies."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform.api import (
    PatchSchema,
    Schema,
    TenantBlueprint,
    Text,
    bool_arg,
    check_if_match,
    like_pattern,
    nullable_as,
    page_of,
)
from slrt.tenants.agencies import actions
from slrt.tenants.agencies.access import access_agency_by_id
from slrt.tenants.agencies.models import Agency, AgencyKind

blp = TenantBlueprint(
    "agencies",
    __name__,
    "/agencies",
    description="Agencies (OPD)",
    lookups={"agency_id": access_agency_by_id},
)

KIND = validate.OneOf([k.value for k in AgencyKind])


@nullable_as(Agency)
class AgencySchema(Schema):
    id = fields.UUID(dump_only=True)
    name = Text(dump_only=True, metadata={"example": "Dinas Kesehatan"})
    kind = Text(dump_only=True, metadata={"enum": [k.value for k in AgencyKind]})
    contact_name = Text(dump_only=True)
    phone = Text(dump_only=True)
    email = Text(dump_only=True)
    address = Text(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class AgencyCreateSchema(Schema):
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    kind = Text(required=True, validate=KIND)
    contact_name = Text(validate=validate.Length(max=200), allow_none=True)
    phone = Text(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,32}$"), allow_none=True)
    email = fields.Email(validate=validate.Length(max=254), allow_none=True)
    address = Text(validate=validate.Length(max=1000), allow_none=True)


class AgencyUpdateSchema(AgencyCreateSchema, PatchSchema):
    name = Text(validate=validate.Length(min=2, max=200))
    kind = Text(validate=KIND)
    active = fields.Boolean()


class AgencyQuerySchema(Schema):
    kind = Text(validate=KIND)
    active = bool_arg()
    q = Text(metadata={"description": "Part of the name"})


@blp.route("")
@blp.arguments(AgencyQuerySchema, location="query")
@blp.response(200, AgencySchema(many=True))
@blp.paginate()
@require(P.TENANT_READ)
def list_agencies(query: dict, pagination_parameters) -> list[Agency]:
    """Agencies by name; filter by kind and active."""
    stmt = sa.select(Agency)
    if query.get("kind"):
        stmt = stmt.where(Agency.kind == query["kind"])
    if query.get("active") is not None:
        stmt = stmt.where(Agency.active.is_(query["active"]))
    if query.get("q"):
        stmt = stmt.where(Agency.name.ilike(like_pattern(query["q"])))
    return page_of(stmt, pagination_parameters, sa.func.lower(Agency.name), Agency.id)


@blp.route("", methods=["POST"])
@blp.arguments(AgencyCreateSchema)
@blp.response(201, AgencySchema)
@require(P.TENANT_CONFIGURE)
def create_agency(data: dict) -> Agency:
    """Add an agency (OPD)."""
    return actions.create_agency(data)


@blp.route("/<uuid:agency_id>")
@blp.etag
@blp.response(200, AgencySchema)
@require(P.TENANT_READ)
def get_agency(agency_id: uuid.UUID) -> Agency:
    """One agency."""
    return access_agency_by_id(agency_id)


@blp.route("/<uuid:agency_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(AgencyUpdateSchema)
@blp.response(200, AgencySchema)
@require(P.TENANT_CONFIGURE)
def patch_agency(data: dict, agency_id: uuid.UUID) -> Agency:
    """Change an agency or deactivate it (send If-Match). Agencies are never deleted: programs,
    referrals and officers keep pointing at them."""
    agency = access_agency_by_id(agency_id)
    check_if_match(blp, agency, AgencySchema)
    return actions.update_agency(agency, data)
