"""The monthly district report (the `reports.monthly` job): XLSX and PDF for one month.

Scheduled on the first day of each month for the previous month in every district, and on
demand (POST /api/v1/t/<slug>/reports/monthly?month=YYYY-MM). The files are job result files,
downloaded through /api/v1/t/<slug>/jobs/<id>/files/<name>.

Contents: the month's intakes (by kind and channel), referrals sent in the month by program and
outcome, the on-time rate of referrals answered in the month, and the referrals overdue at the
end of the month that are still open, by agency. No personal data beyond ticket numbers.
Months are the district's calendar months: from its midnight on the first, in its own zone
(WIB, WITA or WIT), and due dates are its calendar days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fpdf import FPDF

from slrt.platform import db
from slrt.platform.i18n import local_date, local_midnight
from slrt.platform.tabular.write import XlsxWriter
from slrt.platform.tenancy import current_tenant
from slrt.tenants.flow.letters import MONTHS_ID, latin1
from slrt.tenants.flow.models import Case, Referral
from slrt.tenants.reports.aggregates import OUTCOMES, on_time_rate, outcome_of

OUTCOME_LABELS = {
    "pending": "Menunggu dikirim / pending",
    "in_progress": "Dalam proses / in progress",
    "fulfilled": "Dilayani / fulfilled",
    "rejected": "Ditolak / rejected",
}


@dataclass
class MonthlyReport:
    district: str
    month: str  # YYYY-MM
    intakes_total: int = 0
    intakes_by_kind: dict[str, int] = field(default_factory=dict)
    intakes_by_channel: dict[str, int] = field(default_factory=dict)
    referrals_sent: int = 0
    referrals_by_program: list[dict[str, Any]] = field(default_factory=list)
    answered: int = 0
    on_time: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.on_time, self.answered)

    @property
    def month_label(self) -> str:
        year, month = (int(x) for x in self.month.split("-"))
        return f"{MONTHS_ID[month - 1]} {year}"


def month_bounds(month: str, zone: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The instants a district's calendar month starts and ends (the district in context unless
    `zone` is given)."""
    year, mon = (int(x) for x in month.split("-"))
    start = local_midnight(dt.date(year, mon, 1), zone)
    end = local_midnight(dt.date(year + (mon == 12), mon % 12 + 1, 1), zone)
    return start, end


def previous_month(day: dt.date) -> str:
    last = day.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def build(month: str, now: dt.datetime | None = None) -> MonthlyReport:
    """The current district's figures for `month` (reads through RLS: this district only)."""
    now = now or dt.datetime.now(dt.UTC)
    tenant = current_tenant()
    start, end = month_bounds(month, tenant.zone)
    report = MonthlyReport(district=tenant.name, month=month)
    in_month = sa.and_(Case.created_at >= start, Case.created_at < end)
    for column, target in ((Case.kind, "intakes_by_kind"), (Case.channel, "intakes_by_channel")):
        rows = db.session.execute(
            sa.select(column, sa.func.count()).where(in_month).group_by(column).order_by(column)
        ).all()
        setattr(report, target, {str(k): n for k, n in rows})
    report.intakes_total = sum(report.intakes_by_kind.values())
    sent = db.session.execute(
        sa.select(Referral.program_name, Referral.status, sa.func.count())
        .where(Referral.sent_at >= start, Referral.sent_at < end)
        .group_by(Referral.program_name, Referral.status)
    ).all()
    programs: dict[str, dict[str, int]] = {}
    for program, status, n in sent:
        entry = programs.setdefault(program, {o: 0 for o in OUTCOMES})
        entry[outcome_of(status)] += n
    report.referrals_by_program = [
        {"program": name, "total": sum(c.values()), **c} for name, c in sorted(programs.items())
    ]
    report.referrals_sent = sum(p["total"] for p in report.referrals_by_program)
    report.answered, report.on_time = db.session.execute(
        sa.select(
            sa.func.count(), sa.func.count().filter(Referral.responded_at <= Referral.due_at)
        ).where(Referral.responded_at >= start, Referral.responded_at < end)
    ).one()
    cutoff = min(end, now)
    overdue = db.session.execute(
        sa.select(
            Referral.agency_name,
            Case.ticket_number,
            Referral.program_name,
            Referral.due_at,
            Referral.escalation_level,
        )
        .join(Case, sa.and_(Case.tenant_id == Referral.tenant_id, Case.id == Referral.case_id))
        .where(Referral.status.in_(Referral.OPEN), Referral.due_at < cutoff)
        .order_by(Referral.agency_name, Referral.due_at, Case.ticket_number)
    ).all()
    report.overdue = [
        {
            "agency": r.agency_name,
            "ticket_number": r.ticket_number,
            "program": r.program_name,
            "due_on": local_date(r.due_at, tenant.zone),
            "days_late": (cutoff - r.due_at).days,
            "escalation_level": r.escalation_level,
        }
        for r in overdue
    ]
    return report


OVERDUE_KEYS = ("agency", "ticket_number", "program", "due_on", "days_late", "escalation_level")


def overdue_row(o: dict[str, Any]) -> list[Any]:
    return [o[k] for k in OVERDUE_KEYS]


def write_xlsx(report: MonthlyReport, path: Path) -> None:
    """Several sheets through the formula-safe writer (text never becomes a formula)."""
    w = XlsxWriter(path, ["Laporan bulanan SLRT / monthly report", ""], title="Ringkasan")
    rate = report.on_time_rate
    for row in (
        ("Kabupaten/kota / district", report.district),
        ("Bulan / month", report.month),
        ("Layanan masuk / intakes", report.intakes_total),
        ("Rujukan dikirim / referrals sent", report.referrals_sent),
        ("Rujukan dijawab / referrals answered", report.answered),
        ("Dijawab tepat waktu / answered on time", report.on_time),
        ("Tingkat tepat waktu / on-time rate", rate if rate is not None else "-"),
        ("Rujukan terlambat / overdue referrals", len(report.overdue)),
    ):
        w.write(row)
    w.add_sheet("Layanan", ["jenis / kind", "saluran / channel", "jumlah / count"])
    for kind, n in report.intakes_by_kind.items():
        w.write([kind, "", n])
    for channel, n in report.intakes_by_channel.items():
        w.write(["", channel, n])
    w.add_sheet("Rujukan per program", ["program", "total", *OUTCOMES])
    for p in report.referrals_by_program:
        w.write([p["program"], p["total"], *(p[o] for o in OUTCOMES)])
    w.add_sheet(
        "Terlambat per OPD",
        [
            "OPD / agency",
            "nomor tiket / ticket",
            "program",
            "tenggat / due",
            "hari terlambat / days late",
            "tingkat eskalasi / escalation level",
        ],
    )
    for o in report.overdue:
        w.write(overdue_row(o))
    w.close()


def render_pdf(report: MonthlyReport) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(latin1(f"Laporan Bulanan SLRT {report.district} {report.month}"))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, "Laporan Bulanan SLRT", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.cell(0, 6, latin1(report.district), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Bulan: {report.month_label} ({report.month})", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    def table(title: str, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 7, latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "B", 8)
        for text, width in zip(header, widths, strict=True):
            pdf.cell(width, 6, latin1(text), border=1)
        pdf.ln()
        pdf.set_font("helvetica", "", 8)
        for row in rows or [["-"] + [""] * (len(header) - 1)]:
            for value, width in zip(row, widths, strict=True):
                pdf.cell(width, 6, latin1(str(value))[:60], border=1)
            pdf.ln()
        pdf.ln(3)

    rate = report.on_time_rate
    table(
        "Ringkasan / summary",
        ["", "jumlah / count"],
        [
            ["Layanan masuk / intakes", report.intakes_total],
            ["Rujukan dikirim / referrals sent", report.referrals_sent],
            ["Rujukan dijawab / answered", report.answered],
            ["Tepat waktu / on time", report.on_time],
            ["Tingkat tepat waktu / on-time rate", f"{rate:.0%}" if rate is not None else "-"],
            ["Rujukan terlambat / overdue", len(report.overdue)],
        ],
        [110, 60],
    )
    table(
        "Layanan menurut jenis dan saluran / intakes by kind and channel",
        ["jenis atau saluran / kind or channel", "jumlah / count"],
        [[k, n] for k, n in {**report.intakes_by_kind, **report.intakes_by_channel}.items()],
        [110, 60],
    )
    table(
        "Rujukan per program / referrals by program",
        ["program", "total", *OUTCOMES],
        [
            [p["program"], p["total"], *(p[o] for o in OUTCOMES)]
            for p in report.referrals_by_program
        ],
        [50, 20, 25, 25, 25, 25],
    )
    table(
        "Rujukan terlambat per OPD / overdue referrals by agency",
        ["OPD / agency", "tiket / ticket", "program", "tenggat / due", "hari / days", "eskalasi"],
        [overdue_row(o) for o in report.overdue],
        [45, 35, 35, 25, 15, 15],
    )
    return bytes(pdf.output())


def file_names(month: str) -> tuple[str, str]:
    return f"laporan-bulanan-{month}.xlsx", f"laporan-bulanan-{month}.pdf"
