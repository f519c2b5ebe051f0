"""Monthly statements: plan, quotas, usage lines and the total, always Rp 0.

A statement is computed from `usage_daily` (plus, for the running month, the counts not yet
flushed from Redis), so a past month always reads the same. Counters are summed over the month;
gauges (active accounts, storage) show the month's peak. Usage that carries a village code is
split by the village's funding source (Kemensos-funded intervention villages, APBD, Dana Desa);
the rest is district-level.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from slrt.billing_free.funding import DISTRICT_LEVEL, FUNDING_LABELS, Funding, funding_sources
from slrt.billing_free.meter import COUNTERS, GAUGES, METRIC_LABELS, Metric, unflushed
from slrt.billing_free.models import QUOTA_COLUMNS, UsageDaily
from slrt.billing_free.plans import QUOTA_COLUMN, QUOTA_LABELS, district_today, plans_during
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import local_date, local_midnight
from slrt.platform.tabular.write import neutralise
from slrt.platform.tenancy import TenantRef

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FUNDING_ORDER = [str(f) for f in Funding]
COLUMN_QUOTA = {column: quota for quota, column in QUOTA_COLUMN.items()}


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """'2026-11' -> (first day, first day of next month); 404 for anything else (a URL part)."""
    match = MONTH_RE.match(text or "")
    if not match:
        raise Problem(
            404,
            Msg(
                f"Laporan bulan '{text}' tidak ditemukan; gunakan format YYYY-MM, mis. 2026-11.",
                f"No statement for '{text}'; use YYYY-MM, e.g. 2026-11.",
            ),
        )
    start = dt.date(int(match[1]), int(match[2]), 1)
    end = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class UsageLine:
    metric: str
    label: str
    label_en: str
    kind: str  # "counter" (month total) or "gauge" (month peak)
    total: int
    by_funding: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "label_en": self.label_en,
            "kind": self.kind,
            "total": self.total,
            "by_funding": [
                {
                    "funding_source": source,
                    "label": FUNDING_LABELS[source][0],
                    "label_en": FUNDING_LABELS[source][1],
                    "value": self.by_funding[source],
                }
                for source in FUNDING_ORDER
                if source in self.by_funding
            ],
            "price_idr": 0,
        }


@dataclass
class Statement:
    tenant: TenantRef
    month: str
    period_start: dt.date
    period_end: dt.date  # last day included
    final: bool
    plans: list[dict[str, Any]]
    lines: list[UsageLine]
    generated_at: dt.datetime
    total_idr: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": {
                "code": self.tenant.code,
                "slug": self.tenant.slug,
                "name": self.tenant.name,
            },
            "month": self.month,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "final": self.final,
            "currency": "IDR",
            "plans": self.plans,
            "lines": [line.as_dict() for line in self.lines],
            "total_idr": self.total_idr,
            "generated_at": self.generated_at,
        }


def _plan_periods(tenant_id: int, start: dt.date, end: dt.date, zone: str) -> list[dict[str, Any]]:
    start_ts, end_ts = local_midnight(start, zone), local_midnight(end, zone)
    periods = []
    for assignment, plan in plans_during(tenant_id, start_ts, end_ts):
        quotas = plan.quotas()
        stop = min(assignment.ended_at, end_ts) if assignment.ended_at else end_ts
        last_day = local_date(stop, zone) - dt.timedelta(days=1 if stop == end_ts else 0)
        periods.append(
            {
                "key": plan.key,
                "name": plan.name,
                "price_idr": plan.price_idr,
                "from": local_date(max(assignment.started_at, start_ts), zone),
                "to": last_day,
                "expires_on": assignment.expires_on,
                "reason": assignment.reason,
                "quotas": [
                    {
                        "quota": str(COLUMN_QUOTA[column]),
                        "label": QUOTA_LABELS[COLUMN_QUOTA[column]][0],
                        "label_en": QUOTA_LABELS[COLUMN_QUOTA[column]][1],
                        "limit": quotas[column],
                    }
                    for column in QUOTA_COLUMNS
                ],
            }
        )
    return periods


def build_statement(tenant: TenantRef, month: str) -> Statement:
    """The statement of `month` for `tenant` (call inside the tenant's context)."""
    start, end = parse_month(month)
    today = district_today(zone=tenant.zone)
    if start > today:
        raise Problem(
            404,
            Msg(
                f"Bulan {month} belum dimulai; belum ada laporan.",
                f"Month {month} has not started; there is no statement yet.",
            ),
        )
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    peaks: dict[str, int] = defaultdict(int)
    rows = db.session.execute(
        sa.select(
            UsageDaily.metric,
            UsageDaily.funding_source,
            UsageDaily.day,
            sa.func.sum(UsageDaily.value),
        )
        .where(UsageDaily.day >= start, UsageDaily.day < end)
        .group_by(UsageDaily.metric, UsageDaily.funding_source, UsageDaily.day)
    ).all()
    for metric, source, _day, value in rows:
        if metric in GAUGES:
            peaks[metric] = max(peaks[metric], int(value))
        else:
            totals[metric][source] += int(value)
    final = end <= today
    if not final:
        extra = {
            key: value
            for key, value in unflushed(tenant.id).items()
            if start.isoformat() <= key[0] < end.isoformat()
            and key[1] in {str(m) for m in COUNTERS}
        }
        sources = funding_sources({village for (_, _, village) in extra if village})
        for (_day, metric, village), value in extra.items():
            source = sources.get(village, DISTRICT_LEVEL) if village else DISTRICT_LEVEL
            totals[metric][source] += value
    lines = []
    for metric in Metric:
        label, label_en = METRIC_LABELS[metric]
        if metric in GAUGES:
            lines.append(UsageLine(str(metric), label, label_en, "gauge", peaks.get(metric, 0)))
        else:
            split = {k: v for k, v in totals.get(metric, {}).items() if v}
            lines.append(
                UsageLine(str(metric), label, label_en, "counter", sum(split.values()), split)
            )
    return Statement(
        tenant=tenant,
        month=month,
        period_start=start,
        period_end=end - dt.timedelta(days=1),
        final=final,
        plans=_plan_periods(tenant.id, start, end, tenant.zone),
        lines=lines,
        generated_at=dt.datetime.now(dt.UTC),
    )


def statement_months(first_day: dt.date) -> list[str]:
    """Months from the district's first day on the platform to this month, newest first."""
    today = district_today()
    months = []
    year, month = today.year, today.month
    while (year, month) >= (first_day.year, first_day.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


# --- downloads --------------------------------------------------------------------------------


def statement_csv(statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    t = statement.tenant
    writer.writerow(["Laporan pemakaian SLRT / SLRT usage statement"])
    writer.writerow(["Kabupaten/kota", neutralise(t.name), t.code])
    writer.writerow(["Bulan / month", statement.month])
    writer.writerow(["Periode / period", statement.period_start, statement.period_end])
    writer.writerow(["Final", "ya" if statement.final else "belum (bulan berjalan)"])
    writer.writerow([])
    writer.writerow(
        [
            "Paket / plan",
            "dari / from",
            "sampai / to",
            "kuota / quota",
            "batas / limit",
            "harga / price (IDR)",
        ]
    )
    for plan in statement.plans:
        for quota in plan["quotas"]:
            writer.writerow(
                [
                    plan["name"],
                    plan["from"],
                    plan["to"],
                    quota["quota"],
                    quota["limit"],
                    plan["price_idr"],
                ]
            )
    writer.writerow([])
    writer.writerow(
        [
            "metrik / metric",
            "keterangan",
            "description",
            "jenis / kind",
            "sumber dana / funding",
            "jumlah / value",
            "harga / price (IDR)",
        ]
    )
    for line in statement.lines:
        writer.writerow([line.metric, line.label, line.label_en, line.kind, "total", line.total, 0])
        for source in FUNDING_ORDER:
            if source in line.by_funding:
                writer.writerow(
                    [
                        line.metric,
                        line.label,
                        line.label_en,
                        line.kind,
                        source,
                        line.by_funding[source],
                        0,
                    ]
                )
    writer.writerow([])
    writer.writerow(["TOTAL (Rp)", statement.total_idr])
    return out.getvalue()


def _rupiah(value: int) -> str:
    return "Rp " + f"{value:,}".replace(",", ".")


def _num(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def statement_pdf(statement: Statement) -> bytes:
    t = statement.tenant
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Laporan pemakaian SLRT {t.name} {statement.month}")
    pdf.set_author("SLRT")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, "Laporan Pemakaian SLRT", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 10)
    pdf.cell(0, 6, "SLRT usage statement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.cell(0, 6, f"{t.name} ({t.code})", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    status = "final" if statement.final else "bulan berjalan / month to date"
    pdf.cell(
        0,
        6,
        f"Bulan / month: {statement.month}  ({statement.period_start} - {statement.period_end}, {status})",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 7, "Paket / plan", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    for plan in statement.plans:
        pdf.cell(
            0,
            6,
            f"{plan['name']}: {plan['from']} - {plan['to']}, {_rupiah(plan['price_idr'])}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        with pdf.table(col_widths=(110, 60), width=170, text_align=("LEFT", "RIGHT")) as table:
            table.row(["Kuota / quota", "Batas / limit"])
            for quota in plan["quotas"]:
                table.row([f"{quota['label']} / {quota['label_en']}", _num(quota["limit"])])
        pdf.ln(2)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 7, "Pemakaian / usage", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    with pdf.table(
        col_widths=(80, 60, 30), width=170, text_align=("LEFT", "LEFT", "RIGHT")
    ) as table:
        table.row(["Metrik / metric", "Sumber dana / funding", "Jumlah / value"])
        for line in statement.lines:
            table.row([f"{line.label} / {line.label_en}", "total", _num(line.total)])
            for source in FUNDING_ORDER:
                if source in line.by_funding:
                    table.row(["", FUNDING_LABELS[source][0], _num(line.by_funding[source])])
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(
        0,
        8,
        f"Total tagihan / amount due: {_rupiah(statement.total_idr)}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("helvetica", "", 8)
    pdf.multi_cell(
        0,
        5,
        "SLRT adalah layanan publik; seluruh paket gratis (Rp 0). Laporan ini menunjukkan pemakaian "
        "untuk perencanaan Kemensos dan pemerintah daerah. / SLRT is a public service; every plan "
        "is free (Rp 0). This statement shows usage for Kemensos and district planning.",
    )
    return bytes(pdf.output())
