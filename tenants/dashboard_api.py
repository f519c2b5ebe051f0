"""Dashboard API: the aggregates of tenants.aggregates (counts only, no personal data).

- /api/v1/dashboard (Kemensos, PP.REPORTS_READ): national summary and every district's latest
  figures, `?province_code=73` to filter; a provincial viewer sees only its province's districts
  (its platform role's province_code), whatever filter it asks for.
- /api/v1/t/<slug>/dashboard (P.REPORTS_READ): the district's own latest figures.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import PP, P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema, TenantBlueprint, Text
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.aggregates import as_dict, latest, summarise

blp = PlatformBlueprint(
    "dashboard", __name__, "/dashboard", description="National dashboard (aggregates only)"
)
tenant_blp = TenantBlueprint(
    "district_dashboard", __name__, "/dashboard", description="District dashboard (aggregates)"
)

ALL_PROVINCES_ROLES = {"kemensos_admin", "kemensos_viewer"}


class ProgramFiguresSchema(Schema):
    program = Text()
    total = fields.Integer()
    pending = fields.Integer()
    in_progress = fields.Integer()
    fulfilled = fields.Integer()
    rejected = fields.Integer()


class FiguresSchema(Schema):
    intakes_total = fields.Integer()
    intakes_last_30_days = fields.Integer()
    intakes_by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())
    intakes_by_channel = fields.Dict(keys=fields.String(), values=fields.Integer())
    referrals_total = fields.Integer()
    referrals_by_outcome = fields.Dict(keys=fields.String(), values=fields.Integer())
    referrals_by_program = fields.List(fields.Nested(ProgramFiguresSchema))
    referrals_answered = fields.Integer()
    referrals_on_time = fields.Integer()
    on_time_rate = fields.Float(
        allow_none=True, metadata={"description": "answered by the deadline / answered"}
    )
    referrals_overdue = fields.Integer()
    active_villages = fields.Integer(
        metadata={"description": "villages with an intake in the last 30 days"}
    )
    open_cases = fields.Integer()


class DistrictRefSchema(Schema):
    slug = Text()
    code = Text()
    name = Text()
    province_code = Text()
    province_name = Text()


class DistrictFiguresSchema(FiguresSchema):
    district = fields.Nested(DistrictRefSchema)
    day = fields.Date()
    computed_at = fields.DateTime()


class SummarySchema(FiguresSchema):
    districts = fields.Integer()


class DashboardSchema(Schema):
    province_code = Text(allow_none=True)
    national = fields.Nested(SummarySchema)
    districts = fields.List(fields.Nested(DistrictFiguresSchema))


class DashboardQuerySchema(Schema):
    province_code = Text(
        validate=validate.Regexp(r"^\d{2}$", error="String does not match expected pattern.")
    )


def visible_provinces() -> set[str] | None:
    """The provinces the caller may see (None: all of them)."""
    roles = current_principal().platform_roles
    if any(role in ALL_PROVINCES_ROLES for role, _ in roles):
        return None
    return {province for role, province in roles if role == "provincial_viewer" and province}


@blp.route("")
@blp.arguments(DashboardQuerySchema, location="query")
@blp.response(200, DashboardSchema)
@require(PP.REPORTS_READ)
def national_dashboard(query: dict) -> dict[str, Any]:
    """National summary and each district's latest aggregates (filter by province)."""
    stmt = sa.select(Tenant).order_by(Tenant.code)
    allowed = visible_provinces()
    if allowed is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(allowed)))
    if query.get("province_code"):
        stmt = stmt.where(Tenant.province_code == query["province_code"])
    tenants = {t.id: t for t in db.session.execute(stmt).scalars()}
    rows = sorted(latest(list(tenants)), key=lambda r: tenants[r.district_id].code)
    return {
        "province_code": query.get("province_code"),
        "national": summarise(rows),
        "districts": [{"district": tenants[r.district_id], **as_dict(r)} for r in rows],
    }


@tenant_blp.route("")
@tenant_blp.response(200, DistrictFiguresSchema)
@require(P.REPORTS_READ)
def district_dashboard() -> dict[str, Any]:
    """This district's latest aggregates (refreshed nightly)."""
    tenant = current_tenant()
    rows = latest([tenant.id])
    if not rows:
        raise Problem(
            404,
            Msg(
                "Ringkasan kabupaten/kota belum dihitung (diperbarui setiap malam).",
                "The district's aggregates have not been computed yet (refreshed nightly).",
            ),
        )
    district = db.session.get(Tenant, tenant.id)
    return {"district": district, **as_dict(rows[0])}
