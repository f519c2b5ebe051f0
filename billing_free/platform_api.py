"""Kemensos routes: /api/v1/platform/plans, /platform/tenants/<slug>/plan, /platform/usage/summary.

Plans and plan changes need platform.plans.manage (Kemensos admin); reading them and the
national summary need platform.reports.read (Kemensos and provincial viewers; a provincial
viewer sees the districts of their province only).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from flask import Response

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.billing_free.api import current_plan_body
from slrt.billing_free.funding import DISTRICT_LEVEL, funding_sources
from slrt.billing_free.meter import GAUGES, Metric, unflushed_all
from slrt.billing_free.models import QUOTA_COLUMNS, Plan, PlanAssignment, UsageDaily
from slrt.billing_free.plans import (
    assign_plan,
    plan_by_key,
    today_wib,
)
from slrt.billing_free.quotas import forget_snapshot
from slrt.billing_free.schemas import (
    CurrentPlanSchema,
    MonthQuerySchema,
    NationalSummarySchema,
    PlanAssignSchema,
    PlanSchema,
    PlanUpdateSchema,
)
from slrt.billing_free.statements import parse_month
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, check_if_match, page_of
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, record_platform
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.tenancy import platform_bypass, tenant_context
from slrt.platform.tenant import Tenant, access_tenant_by_slug

blp = PlatformBlueprint(
    "plans", __name__, "/platform", description="Free plans, plan changes, national usage"
)

EDITABLE = ("name", "description", "duration_days", "is_default", "active", *QUOTA_COLUMNS)


def _plan_state(plan: Plan) -> dict[str, Any]:
    return {k: getattr(plan, k) for k in ("key", *EDITABLE)}


def _invalidate_plan_users(plan: Plan) -> None:
    """Drop cached quotas of every district on this plan (after its quotas changed)."""
    tenant_ids = db.session.execute(
        sa.select(PlanAssignment.tenant_ref).where(
            PlanAssignment.plan_id == plan.id, PlanAssignment.ended_at.is_(None)
        )
    ).scalars()
    for tenant_id in tenant_ids:
        forget_snapshot(tenant_id)


def _make_default(plan: Plan) -> None:
    db.session.execute(sa.update(Plan).where(Plan.id != plan.id).values(is_default=False))
    plan.is_default = True


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
    exists = db.session.execute(sa.select(Plan.id).where(Plan.key == data["key"])).scalar()
    if exists:
        raise field_problem(
            409,
            "key",
            Msg(f"Paket '{data['key']}' sudah ada.", f"Plan '{data['key']}' already exists."),
        )
    make_default = data.pop("is_default", False)
    plan = Plan(**data, price_idr=0, is_default=False)
    db.session.add(plan)
    db.session.flush()
    if make_default:
        _make_default(plan)
        db.session.flush()
    record_platform(AuditKind.config, "plan.create", "plan", plan.key, after=_plan_state(plan))
    db.session.commit()
    return plan


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
    before = _plan_state(plan)
    if data.get("is_default") is False and plan.is_default:
        raise field_problem(
            422,
            "is_default",
            Msg(
                "Pilih paket lain sebagai bawaan; selalu harus ada satu.",
                "Make another plan the default instead; there is always one.",
            ),
        )
    if data.get("active") is False and (data.get("is_default") or plan.is_default):
        raise field_problem(
            422,
            "active",
            Msg(
                "Paket bawaan tidak dapat dinonaktifkan.", "The default plan cannot be deactivated."
            ),
        )
    if data.pop("is_default", False):
        _make_default(plan)
    for name, value in data.items():
        setattr(plan, name, value)
    db.session.flush()
    old, new = changes(before, _plan_state(plan))
    record_platform(AuditKind.config, "plan.update", "plan", plan.key, before=old, after=new)
    _invalidate_plan_users(plan)
    db.session.commit()
    return plan


@blp.route("/tenants/<slug>/plan", methods=["GET"])
@blp.response(200, CurrentPlanSchema)
@require(PP.REPORTS_READ)
def get_tenant_plan(slug: str) -> dict[str, Any]:
    """A district's current plan and plan history."""
    tenant = _visible_tenant(slug)
    return current_plan_body(tenant.id)


@blp.route("/tenants/<slug>/plan", methods=["PUT"])
@blp.arguments(PlanAssignSchema)
@blp.response(200, CurrentPlanSchema)
@require(PP.PLANS_MANAGE)
def set_tenant_plan(data: dict[str, Any], slug: str) -> dict[str, Any]:
    """Move a district to another plan, with a reason (kept in the history and the audit trail).
    A trial plan ends after its duration unless `expires_on` is given."""
    tenant = access_tenant_by_slug(slug, allow_suspended=True)
    plan = _plan_for_field(data["plan"])
    assign_plan(tenant, plan, data["reason"], expires_on=data.get("expires_on"))
    db.session.commit()
    forget_snapshot(tenant.id)
    return current_plan_body(tenant.id)


def _plan_for_field(key: str) -> Plan:
    plan = db.session.execute(sa.select(Plan).where(Plan.key == key)).scalar_one_or_none()
    if plan is None:
        raise field_problem(
            422, "plan", Msg(f"Paket '{key}' tidak ada.", f"There is no plan '{key}'.")
        )
    return plan


def _visible_tenant(slug: str) -> Tenant:
    tenant = access_tenant_by_slug(slug, allow_suspended=True)
    provinces = current_principal().visible_provinces()
    if provinces is not None and tenant.province_code not in provinces:
        from slrt.platform.tenant import NOT_FOUND

        raise Problem(404, NOT_FOUND)
    return tenant


def national_summary(month: str) -> dict[str, Any]:
    """Usage of every visible district in `month`: per district, national totals, totals by
    village funding source and the number of districts per plan. Reads usage across districts
    through the named read-only platform bypass."""
    start, end = parse_month(month)
    provinces = current_principal().visible_provinces()
    tenant_stmt = sa.select(Tenant).order_by(Tenant.code)
    if provinces is not None:
        tenant_stmt = tenant_stmt.where(Tenant.province_code.in_(sorted(provinces)))
    tenants = list(db.session.execute(tenant_stmt).scalars())
    ids = [t.id for t in tenants]
    current_plans = dict(
        db.session.execute(
            sa.select(PlanAssignment.tenant_ref, Plan.key)
            .join(Plan, Plan.id == PlanAssignment.plan_id)
            .where(PlanAssignment.ended_at.is_(None), PlanAssignment.tenant_ref.in_(ids))
        ).all()
    )
    with platform_bypass("billing_free: national usage summary for Kemensos"):
        rows = db.session.execute(
            sa.select(
                UsageDaily.tenant_id,
                UsageDaily.metric,
                UsageDaily.funding_source,
                UsageDaily.day,
                sa.func.sum(UsageDaily.value),
            )
            .where(UsageDaily.day >= start, UsageDaily.day < end, UsageDaily.tenant_id.in_(ids))
            .group_by(
                UsageDaily.tenant_id, UsageDaily.metric, UsageDaily.funding_source, UsageDaily.day
            )
        ).all()
    db.session.rollback()  # end the read-only transaction before anything else runs
    rows = [tuple(r) for r in rows]
    if end > today_wib():  # the running month also counts what is not flushed yet
        rows += _unflushed_rows(tenants, start, end)
    per_tenant: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_funding: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gauges = {str(g) for g in GAUGES}
    for tenant_id, metric, source, _day, value in rows:
        value = int(value)
        if metric in gauges:
            per_tenant[tenant_id][metric] = max(per_tenant[tenant_id][metric], value)
        else:
            per_tenant[tenant_id][metric] += value
            by_funding[metric][source] += value
    totals: dict[str, int] = {str(m): 0 for m in Metric}
    for usage in per_tenant.values():
        for metric, value in usage.items():
            totals[metric] += value
    plan_counts: dict[str, int] = defaultdict(int)
    for t in tenants:
        plan_counts[current_plans.get(t.id, "-")] += 1
    return {
        "month": month,
        "tenants": [
            {
                "code": t.code,
                "slug": t.slug,
                "name": t.name,
                "province_code": t.province_code,
                "plan": current_plans.get(t.id),
                "usage": {str(m): per_tenant.get(t.id, {}).get(str(m), 0) for m in Metric},
                "total_idr": 0,
            }
            for t in tenants
        ],
        "totals": totals,
        "by_funding": {k: dict(v) for k, v in by_funding.items()},
        "plans": dict(plan_counts),
        "total_idr": 0,
    }


def _unflushed_rows(tenants: list[Tenant], start, end) -> list[tuple]:
    """Redis counts of the given districts in [start, end), as summary rows (funding source of
    each village resolved in its district)."""
    waiting = unflushed_all()
    counters = {str(m) for m in Metric if m not in GAUGES}
    out = []
    for tenant in tenants:
        values = {
            k: v
            for k, v in waiting.get(tenant.id, {}).items()
            if start.isoformat() <= k[0] < end.isoformat() and k[1] in counters
        }
        if not values:
            continue
        with tenant_context(tenant.ref()):
            sources = funding_sources({village for _, _, village in values if village})
            db.session.rollback()
        for (day_s, metric, village), value in values.items():
            source = sources.get(village, DISTRICT_LEVEL) if village else DISTRICT_LEVEL
            out.append((tenant.id, metric, source, day_s, value))
    return out


def _month_arg(query: dict[str, Any]) -> str:
    return query.get("month") or today_wib().strftime("%Y-%m")


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
