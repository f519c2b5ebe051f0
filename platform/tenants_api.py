"""Platform routes about districts: /api/v1/tenants."""

from __future__ import annotations

import sqlalchemy as sa
from marshmallow import fields

from slrt.auth.policy import public
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema
from slrt.platform.tenant import Tenant, access_tenant_by_slug

blp = PlatformBlueprint("tenants", __name__, "/tenants", description="Districts (kabupaten/kota)")


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


@blp.route("/<slug>")
@blp.response(200, TenantSchema)
@public("public directory of active districts: names and codes only")
def get_tenant(slug: str) -> Tenant:
    """Public facts about an active district (name, code, slug)."""
    return access_tenant_by_slug(slug)


@blp.route("")
@blp.response(200, TenantSchema(many=True))
@public("public directory of active districts: names and codes only")
def list_tenants() -> list[Tenant]:
    """Active districts on the platform (public directory: names and codes only)."""
    return list(
        db.session.execute(
            sa.select(Tenant).where(Tenant.status == "active").order_by(Tenant.code)
        ).scalars()
    )
