"""District reports: /api/v1/t/<tenant>/dashboard (the latest nightly aggregates, counts only) and
/api/v1/t/<tenant>/reports/monthly (the monthly report as a background job; its XLSX and PDF are
downloaded from the job's files). The national view is in `platform_api`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, url_for
from marshmallow import ValidationError, fields, validates

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import local_today
from slrt.platform.jobs.api import JobSchema
from slrt.platform.tenancy import current_tenant
from slrt.tenants.reports import actions
from slrt.tenants.reports.aggregates import as_dict, latest

monthly_blp = TenantBlueprint("reports", __name__, "/reports", description="District reports")


class MonthQuerySchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})

    @validates("month")
    def _month(self, value: str, **_: Any) -> None:
        try:
            day = dt.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise ValidationError(
                Msg("Format bulan harus YYYY-MM, mis. 2026-01.", "Use YYYY-MM, e.g. 2026-01.")
            ) from None
        if len(value) != 7 or day > local_today() or day.year < 2000:
            raise ValidationError(
                Msg("Bulan tidak sah atau belum tiba.", "Invalid month, or not begun yet.")
            )


@monthly_blp.route("/monthly", methods=["POST"])
@monthly_blp.arguments(MonthQuerySchema, location="query")
@monthly_blp.response(202, JobSchema)
@require(P.REPORTS_READ)
def request_monthly_report(query: dict):
    """Make the monthly report (XLSX and PDF) for ?month=YYYY-MM as a background job; download
    its files from the job once it has succeeded."""
    job = actions.request_monthly_report(query["month"])
    location = url_for("jobs.get_job", tenant=current_tenant().slug, job_id=job.id)
    return job, 202, {"Location": location}


tenant_blp = TenantBlueprint(
    "district_dashboard", __name__, "/dashboard", description="District dashboard (aggregates)"
)


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


@tenant_blp.route("")
@tenant_blp.response(200, DistrictFiguresSchema)
@require(P.REPORTS_READ)
@db.reads_from_replica
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
    return {"district": g.tenant, **as_dict(rows[0])}
