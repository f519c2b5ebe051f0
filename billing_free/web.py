"""The district's plan and usage pages: /t/<slug>/plan (the plan in force, each quota as a bar
of use against its limit with the 80% warning and the full mark, the notices, the last two
weeks' daily usage, the monthly statements) and /t/<slug>/plan/statements/<month> (one month's
statement, Rp 0, with its CSV and PDF downloads from the same statement builders as the API).

Every page needs `usage.read`, as in the API.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from flask import Response, render_template

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.billing_free import quotas
from slrt.billing_free.api import current_plan_body
from slrt.billing_free.funding import FUNDING_LABELS
from slrt.billing_free.meter import COUNTERS, METRIC_LABELS, Metric, unflushed
from slrt.billing_free.models import UsageDaily
from slrt.billing_free.plans import QUOTA_LABELS, Quota, district_today
from slrt.billing_free.statements import (
    build_statement,
    statement_csv,
    statement_months,
    statement_pdf,
)
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.platform.web import TenantPages

bp = TenantPages("billing_free_web", __name__, "/plan")

DAYS_SHOWN = 14
MONTHS_SHOWN = 12
# The daily table's columns: what a district does, then the machinery behind it.
DAILY_METRICS = (
    Metric.INTAKES,
    Metric.REFERRALS,
    Metric.IMPORT_ROWS,
    Metric.EXPORTS,
    Metric.API_CALLS,
    Metric.JOBS_RUN,
)
# Quotas measured over a short window rather than held: shown with their limit, no bar.
RATE_QUOTAS = (Quota.API_PER_MINUTE, Quota.CONCURRENT_JOBS)


def _amount(quota: Quota, value: int | None) -> Msg:
    if value is None:
        return Msg("—", "—")
    if quota == Quota.STORAGE:
        if value >= 1024**3:
            text = f"{value / 1024**3:.1f} GiB"
        else:
            text = f"{value / 1024**2:.1f} MB"
        return Msg(text.replace(".", ","), text)
    return Msg(f"{value:,}".replace(",", "."), f"{value:,}")


def _quota_rows(tenant_id: int) -> list[dict[str, Any]]:
    rows = []
    for status in quotas.status(tenant_id):
        label = Msg(*QUOTA_LABELS[status.quota])
        percent = None
        if status.used is not None and status.limit > 0:
            percent = round(100 * status.used / status.limit)
        rows.append(
            {
                "quota": str(status.quota),
                "label": Msg(label[:1].upper() + label[1:], label.en[:1].upper() + label.en[1:]),
                "used": status.used,
                "limit": status.limit,
                "used_text": _amount(status.quota, status.used),
                "limit_text": _amount(status.quota, status.limit),
                "percent": percent,
                "level": status.level,
                "bar": status.quota not in RATE_QUOTAS,
                # The bar turns yellow from the soft limit (80%) and red once full.
                "low": status.limit * quotas.SOFT_LIMIT,
                "high": status.limit * 0.999,
            }
        )
    return rows


def _daily(tenant_id: int) -> list[dict[str, Any]]:
    """The last days' counts per metric (newest first), today's including what is not
    flushed to the database yet."""
    today = district_today()
    first = today - dt.timedelta(days=DAYS_SHOWN - 1)
    totals: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = db.session.execute(
        sa.select(UsageDaily.day, UsageDaily.metric, sa.func.sum(UsageDaily.value))
        .where(UsageDaily.day >= first, UsageDaily.day <= today)
        .group_by(UsageDaily.day, UsageDaily.metric)
    ).all()
    for day, metric, value in rows:
        totals[day][metric] += int(value)
    counters = {str(m) for m in COUNTERS}
    for (day_s, metric, _village), value in unflushed(tenant_id).items():
        day = dt.date.fromisoformat(day_s)
        if metric in counters and first <= day <= today:
            totals[day][metric] += value
    return [
        {"day": day, "values": [totals[day].get(str(m), 0) for m in DAILY_METRICS]}
        for day in (today - dt.timedelta(days=n) for n in range(DAYS_SHOWN))
    ]


def _months(tenant_id: int) -> list[str]:
    created = db.session.execute(
        sa.select(Tenant.created_at).where(Tenant.id == tenant_id)
    ).scalar_one()
    return statement_months(created.date())[:MONTHS_SHOWN]


@bp.get("")
@require(P.USAGE_READ)
def plan():
    tenant = current_tenant()
    return render_template(
        "billing_free/plan.html",
        plan=current_plan_body(tenant.id),
        quotas=_quota_rows(tenant.id),
        notices=[Msg(n["message"], n["message_en"]) for n in quotas.notices(tenant.id)],
        daily=_daily(tenant.id),
        metrics=[Msg(*METRIC_LABELS[m]) for m in DAILY_METRICS],
        months=_months(tenant.id),
        this_month=district_today().strftime("%Y-%m"),
    )


@bp.get("/statements/<month>")
@require(P.USAGE_READ)
def statement(month: str):
    built = build_statement(current_tenant(), month)
    lines = [
        {
            "label": Msg(line.label, line.label_en),
            "total": line.total,
            "gauge": line.kind == "gauge",
            "by_funding": [
                (Msg(*FUNDING_LABELS[source]), value) for source, value in line.by_funding.items()
            ],
        }
        for line in built.lines
    ]
    return render_template(
        "billing_free/statement.html",
        statement=built,
        lines=lines,
        plans=[
            {**p, "quotas": [{**q, "label": Msg(q["label"], q["label_en"])} for q in p["quotas"]]}
            for p in built.plans
        ],
    )


def _download(month: str, ext: str, body: str | bytes, mimetype: str) -> Response:
    name = f"laporan-pemakaian-{current_tenant().slug}-{month}.{ext}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/statements/<month>/csv")
@require(P.USAGE_READ)
def statement_as_csv(month: str):
    text = statement_csv(build_statement(current_tenant(), month))
    return _download(month, "csv", text, "text/csv")


@bp.get("/statements/<month>/pdf")
@require(P.USAGE_READ)
def statement_as_pdf(month: str):
    data = statement_pdf(build_statement(current_tenant(), month))
    return _download(month, "pdf", data, "application/pdf")
