"""The national dashboard: /api/v1/dashboard (Kemensos, PP.REPORTS_READ), the national summary and
every visible district's latest aggregates (counts only, no personal data), `?province_code=73`
to filter; a provincial viewer sees only its province's districts, whatever filter it asks for.
A district's own dashboard is in `api`."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, request
from marshmallow import fields, validate

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema, Text
from slrt.platform.freshness import LocalCache, ttl_seconds, watch
from slrt.platform.tenant import Tenant
from slrt.tenants.reports.aggregates import as_dict, latest, summarise
from slrt.tenants.reports.api import DistrictFiguresSchema, FiguresSchema
from slrt.tenants.reports.models import DistrictAggregate

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


# The answer changes when the nightly figures do (or a district is renamed): computed once per
# change, province filter and set of visible provinces, kept as its JSON and ETag (a new epoch,
# slrt.platform.freshness, drops it in every process; the time bound is a safety net only).
_ANSWERS: LocalCache[tuple[Any, ...], tuple[bytes, str]] = LocalCache(
    "national-dashboard", max_entries=256, ttl=900
)
watch(DistrictAggregate.__tablename__)


@blp.route("")
@blp.arguments(DashboardQuerySchema, location="query")
@blp.response(200, DashboardSchema)
@blp.alt_response(304, description="Not modified: the If-None-Match ETag is current")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def national_dashboard(query: dict) -> Response:
    """National summary and each district's latest aggregates (filter by province). Sent with
    an ETag: a client holding the current answer gets 304."""
    allowed = current_principal().visible_provinces()
    province = query.get("province_code")
    key = (province, None if allowed is None else tuple(sorted(allowed)))
    # Read on a replica, the answer may predate the change that made the new epoch: it is then
    # kept only as long as the process's other entries.
    ttl = ttl_seconds() if db.replica_engine() is not None else None
    body, etag = _ANSWERS.get(key, lambda: _answer(province, allowed), ttl=ttl)
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return Response(body, mimetype="application/json", headers={"ETag": f'"{etag}"'})


def national_figures(province: str | None, allowed: set[str] | None) -> dict[str, Any]:
    """The national (or provincial) summary and the districts' latest rows, as served."""
    stmt = sa.select(Tenant).order_by(Tenant.code)
    if allowed is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(allowed)))
    if province:
        stmt = stmt.where(Tenant.province_code == province)
    tenants = {t.id: t for t in db.session.execute(stmt).scalars()}
    rows = sorted(latest(list(tenants)), key=lambda r: tenants[r.district_id].code)
    return {
        "province_code": province,
        "national": summarise(rows),
        "districts": [{"district": tenants[r.district_id], **as_dict(r)} for r in rows],
    }


def _answer(province: str | None, allowed: set[str] | None) -> tuple[bytes, str]:
    body = current_app.json.dumps(DashboardSchema().dump(national_figures(province, allowed)))
    body = body.encode()
    return body, hashlib.sha256(body).hexdigest()[:32]
