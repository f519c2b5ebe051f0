"""Service points (the SLRT secretariat, Puskesos units): /api/v1/t/<tenant>/service-points."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import (
    PatchSchema,
    Schema,
    TenantBlueprint,
    Text,
    bool_arg,
    check_if_match,
    nullable_as,
    page_of,
)
from slrt.tenants.regions.models import Village
from slrt.tenants.service_points import actions
from slrt.tenants.service_points.access import access_service_point_by_id, staff_query
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

blp = TenantBlueprint(
    "service_points",
    __name__,
    "/service-points",
    description="Service points: the SLRT secretariat and Puskesos units",
    lookups={"service_point_id": access_service_point_by_id},
)

KIND = validate.OneOf([k.value for k in ServicePointKind])


@nullable_as(ServicePoint)
class ServicePointSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = Text(dump_only=True, metadata={"enum": [k.value for k in ServicePointKind]})
    name = Text(dump_only=True)
    village_id = fields.UUID(dump_only=True)
    address = Text(dump_only=True)
    phone = Text(dump_only=True)
    decree_number = Text(dump_only=True, metadata={"description": "Nomor SK"})
    decree_date = fields.Date(dump_only=True)
    opened_on = fields.Date(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class _Editable(Schema):
    name = Text(validate=validate.Length(min=2, max=200))
    village_id = fields.UUID(allow_none=True)
    address = Text(validate=validate.Length(max=1000), allow_none=True)
    phone = Text(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,32}$"), allow_none=True)
    decree_number = Text(validate=validate.Length(max=120), allow_none=True)
    decree_date = fields.Date(allow_none=True)
    opened_on = fields.Date(allow_none=True)


class ServicePointCreateSchema(_Editable):
    kind = Text(required=True, validate=KIND)
    name = Text(required=True, validate=validate.Length(min=2, max=200))


class ServicePointUpdateSchema(_Editable, PatchSchema):
    active = fields.Boolean()


class ServicePointQuerySchema(Schema):
    kind = Text(validate=KIND)
    active = bool_arg()
    village_id = fields.UUID()
    kecamatan = Text(metadata={"description": "Kecamatan code, e.g. 73.72.01"})


@blp.route("")
@blp.arguments(ServicePointQuerySchema, location="query")
@blp.response(200, ServicePointSchema(many=True))
@blp.paginate()
@require(P.TENANT_READ)
def list_service_points(query: dict, pagination_parameters) -> list[ServicePoint]:
    """The secretariat first, then Puskesos by name; filter by kind, active, village, kecamatan."""
    stmt = sa.select(ServicePoint)
    for key in ("kind", "village_id"):
        if query.get(key):
            stmt = stmt.where(getattr(ServicePoint, key) == query[key])
    if query.get("active") is not None:
        stmt = stmt.where(ServicePoint.active.is_(query["active"]))
    if query.get("kecamatan"):
        in_kecamatan = sa.select(Village.id).where(Village.code.like(query["kecamatan"] + ".%"))
        stmt = stmt.where(ServicePoint.village_id.in_(in_kecamatan))
    return page_of(
        stmt, pagination_parameters, ServicePoint.kind.desc(), ServicePoint.name, ServicePoint.id
    )


@blp.route("", methods=["POST"])
@blp.arguments(ServicePointCreateSchema)
@blp.response(201, ServicePointSchema)
@require(P.TENANT_CONFIGURE)
def create_service_point(data: dict) -> ServicePoint:
    """Add the secretariat or a Puskesos (one active Puskesos per village)."""
    return actions.create_service_point(data)


@blp.route("/<uuid:service_point_id>")
@blp.etag
@blp.response(200, ServicePointSchema)
@require(P.TENANT_READ)
def get_service_point(service_point_id: uuid.UUID) -> ServicePoint:
    """One service point."""
    return access_service_point_by_id(service_point_id)


@blp.route("/<uuid:service_point_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(ServicePointUpdateSchema)
@blp.response(200, ServicePointSchema)
@require(P.TENANT_CONFIGURE)
def patch_service_point(data: dict, service_point_id: uuid.UUID) -> ServicePoint:
    """Change or (de)activate a service point (send If-Match)."""
    point = access_service_point_by_id(service_point_id)
    check_if_match(blp, point, ServicePointSchema)
    return actions.update_service_point(point, data)


class StaffSchema(Schema):
    membership_id = fields.UUID(dump_only=True)
    account_id = fields.UUID(dump_only=True)
    name = Text(dump_only=True)
    email = Text(dump_only=True)
    role_key = Text(dump_only=True)
    role_name = Text(dump_only=True)
    scope_kind = Text(dump_only=True)
    scope_codes = fields.List(Text(), dump_only=True)


@blp.route("/<uuid:service_point_id>/staff")
@blp.response(200, StaffSchema(many=True))
@blp.paginate()
@require(P.MEMBERS_READ)
def list_staff(service_point_id: uuid.UUID, pagination_parameters) -> list[dict[str, Any]]:
    """Who works here: for a Puskesos, the active members whose region scope is its village;
    for the secretariat, the active members scoped to the whole district. By name."""
    stmt = staff_query(access_service_point_by_id(service_point_id))
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    pagination_parameters.item_count = total
    rows = db.session.execute(
        stmt.offset(pagination_parameters.first_item).limit(pagination_parameters.page_size)
    ).all()
    return [
        {
            "membership_id": m.id,
            "account_id": a.id,
            "name": a.name,
            "email": a.email,
            "role_key": r.key,
            "role_name": r.name,
            "scope_kind": m.scope_kind,
            "scope_codes": m.scope_codes,
        }
        for m, a, r in rows
    ]
