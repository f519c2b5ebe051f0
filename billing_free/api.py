"""District routes: /api/v1/t/<tenant>/usage, /plan, /statements (permission usage.read).

District admins see their own district; Kemensos admins and viewers see any district through the
same routes (their platform roles carry usage.read); anyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from flask import Response

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.billing_free import quotas
from slrt.billing_free.meter import COUNTERS, GAUGES, unflushed
from slrt.billing_free.models import UsageDaily
from slrt.billing_free.plans import (
    QUOTA_COLUMN,
    QUOTA_LABELS,
    Quota,
    district_today,
    plan_history,
)
from slrt.billing_free.schemas import (
    CurrentPlanSchema,
    NoticeSchema,
    StatementMonthSchema,
    StatementSchema,
    UsageDailyQuerySchema,
    UsageDailySchema,
    UsageNowSchema,
)
from slrt.billing_free.statements import (
    build_statement,
    statement_csv,
    statement_months,
    statement_pdf,
)
from slrt.platform import db
from slrt.platform.api import TenantBlueprint, page_of
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant

blp = TenantBlueprint(
    "billing_free", __name__, "", description="Plan, quotas, usage and Rp 0 statements"
)


def quota_limits(quotas_by_column: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "quota": str(quota),
            "label": QUOTA_LABELS[quota][0],
            "label_en": QUOTA_LABELS[quota][1],
            "limit": quotas_by_column[column],
        }
        for quota, column in QUOTA_COLUMN.items()
    ]


def current_plan_body(tenant_id: int) -> dict[str, Any]:
    history = plan_history(tenant_id)
    plan = quotas.plan_for(tenant_id)
    return {
        "plan": plan.key,
        "name": plan.name,
        "price_idr": 0,
        "expires_on": plan.expires_on,
        "quotas": quota_limits(plan.quotas),
        "history": [
            {
                "plan_key": p.key,
                "plan_name": p.name,
                "started_at": a.started_at,
                "ended_at": a.ended_at,
                "expires_on": a.expires_on,
                "reason": a.reason,
                "actor_label": a.actor_label,
            }
            for a, p in history
        ],
    }


@blp.route("/plan")
@blp.response(200, CurrentPlanSchema)
@require(P.USAGE_READ)
def get_plan() -> dict[str, Any]:
    """The district's plan (always Rp 0), its quotas, and every plan change with who and why."""
    return current_plan_body(current_tenant().id)


@blp.route("/usage")
@blp.response(200, UsageNowSchema)
@require(P.USAGE_READ)
def get_usage() -> dict[str, Any]:
    """Current use against every quota, today's and this month's usage (the district's days), including
    counts not yet flushed to the database."""
    tenant = current_tenant()
    today = district_today()
    month_start = today.replace(day=1)
    today_totals: dict[str, int] = defaultdict(int)
    month_totals: dict[str, int] = defaultdict(int)
    rows = db.session.execute(
        sa.select(UsageDaily.day, UsageDaily.metric, sa.func.sum(UsageDaily.value))
        .where(UsageDaily.day >= month_start, UsageDaily.day <= today)
        .group_by(UsageDaily.day, UsageDaily.metric)
    ).all()
    for day, metric, value in rows:
        value = int(value)
        if day == today:
            today_totals[metric] += value
        if metric in GAUGES:
            month_totals[metric] = max(month_totals[metric], value)
        else:
            month_totals[metric] += value
    counters = {str(m) for m in COUNTERS}
    for (day_s, metric, _village), value in unflushed(tenant.id).items():
        if metric not in counters or day_s < month_start.isoformat():
            continue
        month_totals[metric] += value
        if day_s == today.isoformat():
            today_totals[metric] += value
    plan = quotas.plan_for(tenant.id)
    statuses = quotas.status(tenant.id)
    # Gauges measured now are today's readings even before a flush.
    today_totals["active_accounts"] = max(today_totals["active_accounts"], quotas.active_accounts())
    for s in statuses:
        if s.quota == Quota.STORAGE:
            today_totals["storage_bytes"] = max(today_totals["storage_bytes"], s.used or 0)
    for metric in ("active_accounts", "storage_bytes"):
        month_totals[metric] = max(month_totals[metric], today_totals[metric])
    return {
        "plan": plan.key,
        "plan_name": plan.name,
        "day": today,
        "quotas": [s.as_dict() for s in statuses],
        "today": dict(today_totals),
        "month_to_date": dict(month_totals),
    }


@blp.route("/usage/daily")
@blp.arguments(UsageDailyQuerySchema, location="query")
@blp.response(200, UsageDailySchema(many=True))
@blp.paginate()
@require(P.USAGE_READ)
def list_usage_daily(query: dict, pagination_parameters) -> list[UsageDaily]:
    """Flushed daily usage rows (newest day first), per metric and village."""
    stmt = sa.select(UsageDaily)
    if query.get("since"):
        stmt = stmt.where(UsageDaily.day >= query["since"])
    if query.get("until"):
        stmt = stmt.where(UsageDaily.day <= query["until"])
    if query.get("metric"):
        stmt = stmt.where(UsageDaily.metric == query["metric"])
    return page_of(
        stmt,
        pagination_parameters,
        UsageDaily.day.desc(),
        UsageDaily.metric,
        UsageDaily.village_code,
        UsageDaily.id,
    )


@blp.route("/usage/notices")
@blp.response(200, NoticeSchema(many=True))
@require(P.USAGE_READ)
def list_notices() -> list[dict[str, Any]]:
    """What the district admin should know now: quotas at 80% or more, full quotas (with what
    happens to held imports), a trial plan that ends soon or has ended."""
    return quotas.notices(current_tenant().id)


def _first_day(tenant_id: int) -> dt.date:
    created = db.session.execute(
        sa.select(Tenant.created_at).where(Tenant.id == tenant_id)
    ).scalar_one()
    return created.date()


@blp.route("/statements")
@blp.response(200, StatementMonthSchema(many=True))
@blp.paginate()
@require(P.USAGE_READ)
def list_statements(pagination_parameters) -> list[dict[str, Any]]:
    """Monthly statements, newest first (the running month is marked not final)."""
    tenant = current_tenant()
    months = statement_months(_first_day(tenant.id))
    pagination_parameters.item_count = len(months)
    first = pagination_parameters.first_item
    page = months[first : first + pagination_parameters.page_size]
    this_month = district_today().strftime("%Y-%m")
    return [{"month": m, "final": m != this_month, "total_idr": 0} for m in page]


@blp.route("/statements/<month>")
@blp.response(200, StatementSchema)
@require(P.USAGE_READ)
def get_statement(month: str) -> dict[str, Any]:
    """The statement of one month (YYYY-MM): plan periods, quotas, usage lines split by
    village funding source, total Rp 0."""
    return build_statement(current_tenant(), month).as_dict()


def _filename(month: str, ext: str) -> str:
    return f"laporan-pemakaian-{current_tenant().slug}-{month}.{ext}"


@blp.route("/statements/<month>/csv")
@blp.response(200, {"type": "string"}, content_type="text/csv")
@require(P.USAGE_READ)
def get_statement_csv(month: str) -> Response:
    """The statement as CSV (UTF-8)."""
    text = statement_csv(build_statement(current_tenant(), month))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_filename(month, "csv")}"'},
    )


@blp.route("/statements/<month>/pdf")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
@require(P.USAGE_READ)
def get_statement_pdf(month: str) -> Response:
    """The statement as PDF."""
    data = statement_pdf(build_statement(current_tenant(), month))
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(month, "pdf")}"'},
    )
