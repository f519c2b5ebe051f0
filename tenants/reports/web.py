"""The district dashboard (/t/<slug>/dashboard) and the monthly report page.

The dashboard shows the district's latest nightly aggregates (`aggregates.latest`, what the
API's /dashboard answers) and the live weekly figures (`weekly`): intakes per week by kind and
by channel, referrals by program and outcome, the on-time rate, the referrals overdue by
kecamatan, village and agency, and the villages active each week. Each chart is an SVG image
drawn on the server (`charts`) with its numbers in a table beside it. Counts only, for the
whole district, to whoever may read the district's reports (the API's rule).

The monthly report page asks for the report of a month (the API's action and schema) and lists
the reports made, each opening its job's page with its files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from babel.dates import format_date
from flask import render_template

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import language, local_today, text_of
from slrt.platform.jobs.models import Job
from slrt.platform.jobs.web import JOB_STARTS, JobStart, after_start, can_follow_jobs, job_status
from slrt.platform.region_codes import name_of
from slrt.platform.tenancy import current_tenant
from slrt.platform.web import Form, TenantPages, notice, parse_form, problem_form
from slrt.tenants.regions.access import village_name
from slrt.tenants.reports import actions
from slrt.tenants.reports.aggregates import OUTCOMES, as_dict, latest
from slrt.tenants.reports.api import MonthQuerySchema
from slrt.tenants.reports.charts import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    RED,
    line_chart,
    stacked_bar_chart,
    svg_response,
)
from slrt.tenants.reports.monthly import previous_month
from slrt.tenants.reports.platform_web import (
    CHANNELS,
    KINDS,
    OUTCOME_COLOURS,
    OUTCOME_WORDS,
    words,
)
from slrt.tenants.reports.weekly import Overdue, Week, overdue_now, weekly

bp = TenantPages("reports_web", __name__, "/dashboard")
JOB_STARTS.append(
    JobStart(
        "reports_web.monthly",
        Msg("Laporan bulanan layanan", "Monthly service report"),
        P.REPORTS_READ,
    )
)

SERIES_COLOURS = (GREEN, BLUE, AMBER, RED, GREY, "#6a4c93")
# The most bars one overdue chart draws (the table beside it lists them all).
TOP = 12
# Drawn at about the width they are shown at beside their table, so their text stays legible.
SIZE = (480, 320)


def _week_label(week: Week) -> str:
    return format_date(week.start, "d MMM", locale=language())


def _figures() -> dict[str, Any] | None:
    rows = latest([current_tenant().id])
    return as_dict(rows[0]) if rows else None


def _keys(weeks: Sequence[Week], attribute: str) -> list[str]:
    """The kinds (or channels) met in `weeks`, the known ones first in their usual order."""
    table = KINDS if attribute == "intakes_by_kind" else CHANNELS
    seen = {key for w in weeks for key in getattr(w, attribute)}
    return [k for k in table if k in seen] + sorted(seen - set(table))


def _breakdown(weeks: Sequence[Week], attribute: str) -> list[tuple[str, Msg, list[int]]]:
    table = KINDS if attribute == "intakes_by_kind" else CHANNELS
    return [
        (key, words(table, key), [getattr(w, attribute)[key] for w in weeks])
        for key in _keys(weeks, attribute)
    ]


def _overdue_rows(overdue: Overdue) -> dict[str, list[tuple[str, int]]]:
    """Each breakdown with names for its codes."""
    return {
        "kecamatan": [(name_of(code) or code, n) for code, n in overdue.by_kecamatan],
        "village": [(village_name(code) or code, n) for code, n in overdue.by_village],
        "agency": list(overdue.by_agency),
    }


@bp.get("")
@require(P.REPORTS_READ)
@db.reads_from_replica
def dashboard():
    figures = _figures()
    weeks = weekly()
    overdue = overdue_now()
    return render_template(
        "reports/dashboard.html",
        figures=figures,
        weeks=weeks,
        week_label=_week_label,
        kinds=_breakdown(weeks, "intakes_by_kind"),
        channels=_breakdown(weeks, "intakes_by_channel"),
        programs=(figures or {}).get("referrals_by_program", []),
        outcome_keys=OUTCOMES,
        outcome_names=[words(OUTCOME_WORDS, k) for k in OUTCOMES],
        overdue=overdue,
        overdue_rows=_overdue_rows(overdue),
    )


# --- the charts ---------------------------------------------------------------------------------


def _weekly_bars(attribute: str, title: Msg):
    weeks = weekly()
    series = _breakdown(weeks, attribute)
    svg = stacked_bar_chart(
        text_of(title),
        [_week_label(w) for w in weeks],
        [(text_of(label), values) for _, label, values in series],
        colors=SERIES_COLOURS,
        size=SIZE,
    )
    return svg_response(svg)


@bp.get("/intakes-by-kind.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def intakes_by_kind_svg():
    return _weekly_bars("intakes_by_kind", Msg("Kasus per minggu menurut jenis", "Intakes by kind"))


@bp.get("/intakes-by-channel.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def intakes_by_channel_svg():
    return _weekly_bars(
        "intakes_by_channel", Msg("Kasus per minggu menurut saluran", "Intakes by channel")
    )


@bp.get("/programs.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def programs_svg():
    programs = (_figures() or {}).get("referrals_by_program", [])
    svg = stacked_bar_chart(
        text_of(Msg("Rujukan per program menurut hasil", "Referrals by program and outcome")),
        [p["program"] for p in programs],
        [(text_of(words(OUTCOME_WORDS, k)), [p.get(k, 0) for p in programs]) for k in OUTCOMES],
        colors=[OUTCOME_COLOURS[k] for k in OUTCOMES],
        size=SIZE,
    )
    return svg_response(svg)


@bp.get("/on-time.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def on_time_svg():
    weeks = weekly()
    svg = stacked_bar_chart(
        text_of(Msg("Rujukan dijawab per minggu", "Referrals answered per week")),
        [_week_label(w) for w in weeks],
        [
            (text_of(Msg("Tepat waktu", "On time")), [w.answered_on_time for w in weeks]),
            (text_of(Msg("Terlambat", "Late")), [w.answered_late for w in weeks]),
        ],
        colors=(GREEN, RED),
        size=SIZE,
    )
    return svg_response(svg)


@bp.get("/villages.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def villages_svg():
    weeks = weekly()
    svg = line_chart(
        text_of(Msg("Desa/kelurahan aktif per minggu", "Active villages per week")),
        [_week_label(w) for w in weeks],
        [
            (
                text_of(Msg("Desa/kelurahan aktif", "Active villages")),
                [w.active_villages for w in weeks],
            )
        ],
        size=SIZE,
    )
    return svg_response(svg)


def _overdue_svg(by: str, title: Msg):
    rows = _overdue_rows(overdue_now())[by][:TOP]
    svg = stacked_bar_chart(
        text_of(title),
        [name for name, _ in rows],
        [(text_of(Msg("Rujukan terlambat", "Overdue referrals")), [n for _, n in rows])],
        colors=(RED,),
        size=SIZE,
    )
    return svg_response(svg)


@bp.get("/overdue-by-kecamatan.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def overdue_by_kecamatan_svg():
    return _overdue_svg(
        "kecamatan", Msg("Rujukan terlambat per kecamatan", "Overdue referrals by kecamatan")
    )


@bp.get("/overdue-by-agency.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def overdue_by_agency_svg():
    return _overdue_svg("agency", Msg("Rujukan terlambat per OPD", "Overdue referrals by agency"))


@bp.get("/overdue-by-village.svg")
@require(P.REPORTS_READ)
@db.reads_from_replica
def overdue_by_village_svg():
    return _overdue_svg(
        "village", Msg("Rujukan terlambat per desa/kelurahan", "Overdue referrals by village")
    )


# --- the monthly report -------------------------------------------------------------------------

MONTHLY_SHOWN = 12


def _monthly_page(form: Form | None = None, status: int = 200):
    follow = can_follow_jobs()
    reports = (
        []
        if not follow
        else list(
            db.session.execute(
                sa.select(Job)
                .where(Job.kind == "reports.monthly")
                .order_by(Job.created_at.desc(), Job.id.desc())
                .limit(MONTHLY_SHOWN)
            ).scalars()
        )
    )
    return (
        render_template(
            "reports/monthly.html",
            form=form,
            month=previous_month(local_today()),
            reports=reports,
            follow=follow,
            status_of=job_status,
        ),
        status,
    )


@bp.get("/monthly")
@require(P.REPORTS_READ)
def monthly():
    return _monthly_page()


@bp.post("/monthly")
@require(P.REPORTS_READ)
def request_monthly():
    data, form = parse_form(MonthQuerySchema())
    if data is None:
        return _monthly_page(form, 422)
    try:
        job = actions.request_monthly_report(data["month"])
    except Problem as exc:
        return _monthly_page(problem_form(exc, form.values), exc.code or 422)
    notice(
        Msg(
            f"Laporan bulan {data['month']} sedang dibuat.",
            f"The report of {data['month']} is being made.",
        )
    )
    return after_start(job, "reports_web.monthly")
