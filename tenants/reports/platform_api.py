"""The national dashboard: /api/v1/dashboard (Kemensos, PP.REPORTS_READ), the national summary and
every visible district's latest aggregates (counts only, no personal data), `?province_code=73`
to filter; a provincial viewer sees only its province's districts, whatever filter it asks for.
A district's own dashboard is in `api`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema, Text
from slrt.platform.tenant import Tenant
from slrt.tenants.reports.aggregates import as_dict, latest, summarise
from slrt.tenants.reports.api import DistrictFiguresSchema, FiguresSchema

blp = PlatformBlueprint(
    "dashboard", __name__, "/dashboard", description="National dashboard (aggregates only)"
)


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


@blp.route("")
@blp.arguments(DashboardQuerySchema, location="query")
@blp.response(200, DashboardSchema)
@require(PP.REPORTS_READ)
@db.reads_from_replica
def national_dashboard(query: dict) -> dict[str, Any]:
    """National summary and each district's latest aggregates (filter by province)."""
    stmt = sa.select(Tenant).order_by(Tenant.code)
    allowed = current_principal().visible_provinces()
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
