"""The national usage summary of a month, for Kemensos and provincial viewers: every visible
district's usage and plan, national totals, totals by village funding source and the number of
districts per plan (all Rp 0). Usage is read across districts only through the named read-only
platform bypass; the running month also counts what is not flushed from Redis yet."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.billing_free.funding import DISTRICT_LEVEL, funding_sources
from slrt.billing_free.meter import GAUGES, Metric, unflushed_all
from slrt.billing_free.models import Plan, PlanAssignment, UsageDaily
from slrt.billing_free.plans import district_today
from slrt.billing_free.statements import parse_month
from slrt.platform import db
from slrt.platform.tenancy import platform_bypass, tenant_context
from slrt.platform.tenant import Tenant


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
    # A month still running (by WIB, the last of the three zones to finish a month) also counts
    # what is not flushed yet; each district's days are its own.
    if end > district_today():
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
