"""Kemensos routes: /api/v1/platform/plans, /platform/tenants/<slug>/plan, /platform/usage/summary.

Plans and plan changes need platform.plans.manage (Kemensos admin); reading them and the
national summary need platform.reports.read (Kemensos and provincial viewers; a provincial
viewer sees the districts of their province only).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from flask import Response

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.billing_free import actions
from slrt.billing_free.access import access_visible_tenant_by_slug, resolve_plan_key
from slrt.billing_free.api import current_plan_body
from slrt.billing_free.meter import Metric
from slrt.billing_free.models import Plan
from slrt.billing_free.plans import district_today, plan_by_key
from slrt.billing_free.schemas import (
    CurrentPlanSchema,
    MonthQuerySchema,
    NationalSummarySchema,
    PlanAssignSchema,
    PlanSchema,
    PlanUpdateSchema,
)
from slrt.billing_free.summary import national_summary
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, check_if_match, page_of
from slrt.platform.tenant import access_tenant_by_slug

blp = PlatformBlueprint(
    "plans", __name__, "/platform", description="Free plans, plan changes, national usage"
)


@blp.route("/plans", methods=["GET"])
@blp.response(200, PlanSchema(many=True))
@blp.paginate()
@require(PP.REPORTS_READ)
def list_plans(pagination_parameters) -> list[Plan]:
    """Every plan (all Rp 0), default first, then by name."""
    return page_of(
        sa.select(Plan), pagination_parameters, Plan.is_default.desc(), Plan.name, Plan.id
    )


@blp.route("/plans", methods=["POST"])
@blp.arguments(PlanSchema)
@blp.response(201, PlanSchema)
@require(PP.PLANS_MANAGE)
def create_plan(data: dict[str, Any]) -> Plan:
    """Create a plan (priced Rp 0). A duration in days makes it a trial that ends that many days
    after it is assigned."""
    return actions.create_plan(data)


@blp.route("/plans/<key>", methods=["GET"])
@blp.etag
@blp.response(200, PlanSchema)
@require(PP.REPORTS_READ)
def get_plan(key: str) -> Plan:
    """One plan."""
    return plan_by_key(key)


@blp.route("/plans/<key>", methods=["PATCH"])
@blp.etag
@blp.arguments(PlanUpdateSchema)
@blp.response(200, PlanSchema)
@require(PP.PLANS_MANAGE)
def update_plan(data: dict[str, Any], key: str) -> Plan:
    """Change a plan's name, quotas, duration, default or active flag (send If-Match). Lower
    quotas refuse new items only; districts keep everything they have."""
    plan = plan_by_key(key)
    check_if_match(blp, plan, PlanSchema)
    return actions.update_plan(plan, data)


@blp.route("/tenants/<slug>/plan", methods=["GET"])
@blp.response(200, CurrentPlanSchema)
@require(PP.REPORTS_READ)
def get_tenant_plan(slug: str) -> dict[str, Any]:
    """A district's current plan and plan history."""
    return current_plan_body(access_visible_tenant_by_slug(slug).id)


@blp.route("/tenants/<slug>/plan", methods=["PUT"])
@blp.arguments(PlanAssignSchema)
@blp.response(200, CurrentPlanSchema)
@require(PP.PLANS_MANAGE)
def set_tenant_plan(data: dict[str, Any], slug: str) -> dict[str, Any]:
    """Move a district to another plan, with a reason (kept in the history and the audit trail).
    A trial plan ends after its duration unless `expires_on` is given."""
    tenant = access_tenant_by_slug(slug, allow_suspended=True)
    plan = resolve_plan_key(data["plan"])
    actions.assign_plan(tenant, plan, data["reason"], expires_on=data.get("expires_on"))
    return current_plan_body(tenant.id)


def _month_arg(query: dict[str, Any]) -> str:
    return query.get("month") or district_today().strftime("%Y-%m")  # national: WIB


@blp.route("/usage/summary", methods=["GET"])
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, NationalSummarySchema)
@require(PP.REPORTS_READ)
@db.reads_from_replica
def get_national_summary(query: dict[str, Any]) -> dict[str, Any]:
    """National usage summary of a month (default: this month, WIB): every district's usage
    and plan, national totals, usage split by village funding source; total Rp 0."""
    return national_summary(_month_arg(query))


@blp.route("/usage/summary/csv", methods=["GET"])
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def get_national_summary_csv(query: dict[str, Any]) -> Response:
    """The national summary as CSV: one row per district."""
    summary = national_summary(_month_arg(query))
    out = io.StringIO()
    writer = csv.writer(out)
    metrics = [str(m) for m in Metric]
    writer.writerow(["kode", "kabupaten_kota", "provinsi", "paket", *metrics, "total_idr"])
    for t in summary["tenants"]:
        writer.writerow(
            [
                t["code"],
                t["name"],
                t["province_code"],
                t["plan"] or "",
                *(t["usage"][m] for m in metrics),
                0,
            ]
        )
    writer.writerow(["TOTAL", "", "", "", *(summary["totals"][m] for m in metrics), 0])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="ringkasan-pemakaian-{summary["month"]}.csv"'
        },
    )
