"""Kecamatan and desa/kelurahan of a district: /api/v1/t/<tenant>/kecamatan, /villages."""

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
from slrt.tenants.regions.access import (
    access_kecamatan_by_id,
    access_village_by_id,
    villages_query,
)
from slrt.tenants.regions.actions import add_local_village, update_kecamatan, update_village
from slrt.tenants.regions.models import FundingSource, Kecamatan, RegionSource, Village, VillageKind

blp = TenantBlueprint(
    "regions",
    __name__,
    "",
    description="Kecamatan and desa/kelurahan of the district",
    lookups={"kecamatan_id": access_kecamatan_by_id, "village_id": access_village_by_id},
)

NAME = validate.Length(min=1, max=120)


@nullable_as(Kecamatan)
class KecamatanSchema(Schema):
    id = fields.UUID(dump_only=True)
    code = Text(dump_only=True, metadata={"example": "73.72.01"})
    name = Text(dump_only=True)
    reference_name = Text(
        dump_only=True, metadata={"description": "Name in the Kemendagri 2025 reference"}
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class KecamatanUpdateSchema(Schema):
    name = Text(required=True, validate=NAME)


class KecamatanQuerySchema(Schema):
    q = Text(metadata={"description": "Part of the name"})


@nullable_as(Village)
class VillageSchema(Schema):
    id = fields.UUID(dump_only=True)
    kecamatan_id = fields.UUID(dump_only=True)
    kecamatan_code = fields.Function(lambda v: v.code[:8], dump_only=True)
    code = Text(dump_only=True, metadata={"example": "73.72.01.1001"})
    name = Text(dump_only=True)
    reference_name = Text(dump_only=True)
    kind = Text(dump_only=True, metadata={"enum": [k.value for k in VillageKind]})
    source = Text(dump_only=True, metadata={"enum": [s.value for s in RegionSource]})
    is_intervention = fields.Boolean(dump_only=True)
    funding_source = Text(dump_only=True, metadata={"enum": [f.value for f in FundingSource]})
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


FUNDING = validate.OneOf([f.value for f in FundingSource])


class VillageCreateSchema(Schema):
    code = Text(
        required=True,
        metadata={"description": "PP.KK.CC.XDDD inside one of the district's kecamatan"},
    )
    name = Text(required=True, validate=NAME)
    is_intervention = fields.Boolean()
    funding_source = Text(validate=FUNDING)


class VillageUpdateSchema(PatchSchema):
    name = Text(validate=NAME)
    is_intervention = fields.Boolean()
    funding_source = Text(validate=FUNDING)
    active = fields.Boolean()


class VillageQuerySchema(Schema):
    kecamatan = Text(metadata={"description": "Kecamatan code, e.g. 73.72.01"})
    kecamatan_id = fields.UUID()
    kind = Text(validate=validate.OneOf([k.value for k in VillageKind]))
    intervention = bool_arg()
    funding_source = Text(validate=FUNDING)
    active = bool_arg()
    source = Text(validate=validate.OneOf([s.value for s in RegionSource]))
    q = Text(metadata={"description": "Part of the name or code"})
    mine = bool_arg(metadata={"description": "Only villages inside the caller's region scope"})


@blp.route("/kecamatan")
@blp.arguments(KecamatanQuerySchema, location="query")
@blp.response(200, KecamatanSchema(many=True))
@blp.paginate()
@require(P.TENANT_READ)
def list_kecamatan(query: dict, pagination_parameters) -> list[Kecamatan]:
    """The district's kecamatan, by code."""
    stmt = sa.select(Kecamatan)
    if query.get("q"):
        stmt = stmt.where(Kecamatan.name.ilike(like_pattern(query["q"])))
    return page_of(stmt, pagination_parameters, Kecamatan.code, Kecamatan.id)


@blp.route("/kecamatan/<uuid:kecamatan_id>")
@blp.etag
@blp.response(200, KecamatanSchema)
@require(P.TENANT_READ)
def get_kecamatan(kecamatan_id: uuid.UUID) -> Kecamatan:
    """One kecamatan."""
    return access_kecamatan_by_id(kecamatan_id)


@blp.route("/kecamatan/<uuid:kecamatan_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(KecamatanUpdateSchema)
@blp.response(200, KecamatanSchema)
@require(P.TENANT_CONFIGURE)
def patch_kecamatan(data: dict, kecamatan_id: uuid.UUID) -> Kecamatan:
    """Rename a kecamatan (send If-Match)."""
    kec = access_kecamatan_by_id(kecamatan_id)
    check_if_match(blp, kec, KecamatanSchema)
    return update_kecamatan(kec, data["name"])


@blp.route("/villages")
@blp.arguments(VillageQuerySchema, location="query")
@blp.response(200, VillageSchema(many=True))
@blp.paginate()
@require(P.TENANT_READ)
def list_villages(query: dict, pagination_parameters) -> list[Village]:
    """Desa/kelurahan by code; filter by kecamatan, kind, intervention, funding, active..."""
    return page_of(villages_query(query), pagination_parameters, Village.code, Village.id)


@blp.route("/villages", methods=["POST"])
@blp.arguments(VillageCreateSchema)
@blp.response(201, VillageSchema)
@require(P.TENANT_CONFIGURE)
def create_village(data: dict) -> Village:
    """Add a village the Kemendagri reference lacks (marked `local`)."""
    return add_local_village(data)


@blp.route("/villages/<uuid:village_id>")
@blp.etag
@blp.response(200, VillageSchema)
@require(P.TENANT_READ)
def get_village(village_id: uuid.UUID) -> Village:
    """One village."""
    return access_village_by_id(village_id)


@blp.route("/villages/<uuid:village_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(VillageUpdateSchema)
@blp.response(200, VillageSchema)
@require(P.TENANT_CONFIGURE)
def patch_village(data: dict, village_id: uuid.UUID) -> Village:
    """Rename, set intervention status and funding source, or (de)activate a village (send
    If-Match). Villages are never deleted; a deactivated one keeps its code and history."""
    village = access_village_by_id(village_id)
    check_if_match(blp, village, VillageSchema)
    return update_village(village, data)
