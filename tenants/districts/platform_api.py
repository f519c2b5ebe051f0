"""Routes about districts outside any district: the public directory (/api/v1/tenants) and
Kemensos's onboarding, suspension and lokus designation of districts (/api/v1/platform/tenants)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import PP
from slrt.auth.policy import public, require
from slrt.platform import db
from slrt.platform.api import (
    PlatformBlueprint,
    Schema,
    Text,
    like_pattern,
    page_of,
)
from slrt.platform.tenancy import platform_bypass
from slrt.platform.tenant import Tenant, TenantStatus, access_tenant_by_slug
from slrt.tenants.districts.access import access_tenant_by_id, designations_of
from slrt.tenants.districts.actions import designate, onboard_tenant, set_tenant_status
from slrt.tenants.districts.api import LokusDesignationSchema
from slrt.tenants.districts.models import LokusDesignation
from slrt.tenants.regions.models import Kecamatan, Village

directory_blp = PlatformBlueprint(
    "tenants", __name__, "/tenants", description="Districts (kabupaten/kota)"
)


class TenantSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    province_code = fields.String(dump_only=True)
    province_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


@directory_blp.route("/<slug>")
@directory_blp.response(200, TenantSchema)
@public("public directory of active districts: names and codes only")
def get_tenant(slug: str) -> Tenant:
    """Public facts about an active district (name, code, slug)."""
    return access_tenant_by_slug(slug)


@directory_blp.route("")
@directory_blp.response(200, TenantSchema(many=True))
@public("public directory of active districts: names and codes only")
def list_tenants() -> list[Tenant]:
    """Active districts on the platform (public directory: names and codes only)."""
    return list(
        db.session.execute(
            sa.select(Tenant).where(Tenant.status == "active").order_by(Tenant.code)
        ).scalars()
    )


blp = PlatformBlueprint(
    "platform_tenants",
    __name__,
    "/platform/tenants",
    description="Kemensos: onboarding, suspension and lokus designation of districts",
)


class TenantAdminSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Text(dump_only=True)
    slug = Text(dump_only=True)
    name = Text(dump_only=True)
    province_code = Text(dump_only=True)
    province_name = Text(dump_only=True)
    status = Text(dump_only=True, metadata={"enum": [s.value for s in TenantStatus]})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class TenantDetailSchema(TenantAdminSchema):
    kecamatan_count = fields.Integer(dump_only=True)
    village_counts = fields.Dict(
        keys=Text(),
        values=fields.Integer(),
        dump_only=True,
        metadata={"description": "Active villages by kind, local ones and intervention ones"},
    )
    lokus_designations = fields.List(fields.Nested(LokusDesignationSchema), dump_only=True)


class OnboardSchema(Schema):
    code = Text(
        required=True,
        metadata={"description": "Kemendagri kabupaten/kota code", "example": "73.72"},
    )


class StatusChangeSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=3, max=2000))


class TenantQuerySchema(Schema):
    status = Text(validate=validate.OneOf([s.value for s in TenantStatus]))
    province_code = Text(validate=validate.Regexp(r"^[0-9]{2}$"))
    q = Text(metadata={"description": "Part of the name, the code or the slug"})


def tenant_detail(tenant: Tenant) -> dict[str, Any]:
    """The district with region counts (aggregates only, through the named read-only path)."""
    with platform_bypass("Kemensos district overview: region counts"):
        kecamatan = db.session.execute(
            sa.select(sa.func.count()).where(Kecamatan.tenant_id == tenant.id)
        ).scalar()
        rows = db.session.execute(
            sa.select(
                Village.kind,
                sa.func.count(),
                sa.func.count().filter(Village.source == "local"),
                sa.func.count().filter(Village.is_intervention),
            )
            .where(Village.tenant_id == tenant.id, Village.active.is_(True))
            .group_by(Village.kind)
        ).all()
    counts = {"desa": 0, "kelurahan": 0, "desa_adat": 0, "local": 0, "intervention": 0}
    for kind, total, local, intervention in rows:
        counts[kind] = total
        counts["local"] += local
        counts["intervention"] += intervention
    data = {name: getattr(tenant, name) for name in TenantAdminSchema().fields}
    data.update(
        kecamatan_count=kecamatan,
        village_counts=counts,
        lokus_designations=designations_of(tenant),
    )
    return data


@blp.route("")
@blp.arguments(TenantQuerySchema, location="query")
@blp.response(200, TenantAdminSchema(many=True))
@blp.paginate()
@require(PP.TENANTS_MANAGE)
def list_all_tenants(query: dict, pagination_parameters) -> list[Tenant]:
    """Every district, suspended ones included, by code."""
    stmt = sa.select(Tenant)
    if query.get("status"):
        stmt = stmt.where(Tenant.status == query["status"])
    if query.get("province_code"):
        stmt = stmt.where(Tenant.province_code == query["province_code"])
    if query.get("q"):
        pattern = like_pattern(query["q"].lower())
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Tenant.name).like(pattern),
                Tenant.code.like(pattern),
                Tenant.slug.like(pattern),
            )
        )
    return page_of(stmt, pagination_parameters, Tenant.code)


@blp.route("", methods=["POST"])
@blp.arguments(OnboardSchema)
@blp.response(201, TenantDetailSchema)
@blp.alt_response(200, schema=TenantDetailSchema, description="Already onboarded (unchanged)")
@require(PP.TENANTS_MANAGE)
def onboard(data: dict) -> Any:
    """Onboard a district from its Kemendagri code, with every kecamatan and desa/kelurahan of
    the 2025 reference. Idempotent: an onboarded district answers 200, unchanged."""
    tenant, created = onboard_tenant(data["code"])
    return tenant_detail(tenant), 201 if created else 200


@blp.route("/<int:tenant_id>")
@blp.response(200, TenantDetailSchema)
@require(PP.TENANTS_MANAGE)
def get_tenant_detail(tenant_id: int) -> dict[str, Any]:
    """One district with its region counts and lokus designations."""
    return tenant_detail(access_tenant_by_id(tenant_id))


@blp.route("/<int:tenant_id>/suspend", methods=["POST"])
@blp.arguments(StatusChangeSchema)
@blp.response(200, TenantAdminSchema)
@require(PP.TENANTS_MANAGE)
def suspend(data: dict, tenant_id: int) -> Tenant:
    """Suspend a district: its users may only read, everyone else gets 404; nothing is deleted."""
    return set_tenant_status(access_tenant_by_id(tenant_id), TenantStatus.suspended, data["reason"])


@blp.route("/<int:tenant_id>/reactivate", methods=["POST"])
@blp.arguments(StatusChangeSchema)
@blp.response(200, TenantAdminSchema)
@require(PP.TENANTS_MANAGE)
def reactivate(data: dict, tenant_id: int) -> Tenant:
    """Lift a suspension."""
    return set_tenant_status(access_tenant_by_id(tenant_id), TenantStatus.active, data["reason"])


@blp.route("/<int:tenant_id>/lokus-designations")
@blp.response(200, LokusDesignationSchema(many=True))
@require(PP.TENANTS_MANAGE)
def list_designations(tenant_id: int) -> list[LokusDesignation]:
    """A district's lokus designations, oldest first."""
    return designations_of(access_tenant_by_id(tenant_id))


@blp.route("/<int:tenant_id>/lokus-designations", methods=["POST"])
@blp.arguments(LokusDesignationSchema)
@blp.response(201, LokusDesignationSchema)
@require(PP.TENANTS_MANAGE)
def add_designation(data: dict, tenant_id: int) -> LokusDesignation:
    """Designate a district as SLRT lokus in a wave (tahap) by decree; designations accumulate."""
    return designate(access_tenant_by_id(tenant_id), data)
