"""The Kemensos console's figures (/kemensos/...): the landing page with every visible district
in one sortable, filterable table, the province summary, the trend chart and the drill-down
into one district's aggregates, each chart with its numbers in a table beside it. Counts only:
no page here shows a name, NIK or record of any district. A provincial viewer sees its own
province's districts; another district's id answers 404.

The console's menu (`KEMENSOS_MENU`) is kept here, with the landing page it starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import render_template, request, url_for

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.i18n import number, text_of
from slrt.platform.tenant import Tenant
from slrt.platform.web import PlatformPages, requested_page
from slrt.tenants.districts.access import access_visible_tenant_by_id, designations_of
from slrt.tenants.reports.aggregates import OUTCOMES, as_dict, latest
from slrt.tenants.reports.charts import (
    AMBER,
    GREEN,
    GREY,
    RED,
    line_chart,
    stacked_bar_chart,
    svg_response,
)
from slrt.tenants.reports.national import (
    DistrictRow,
    Filters,
    district_rows,
    national_totals,
    province_summary,
    trend,
    visible_tenants,
)

bp = PlatformPages("kemensos", __name__, lookups={"tenant_id": access_visible_tenant_by_id})


# --- the console's menu ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleItem:
    endpoint: str
    label: Msg
    permission: PP


KEMENSOS_MENU: list[ConsoleItem] = [
    ConsoleItem("kemensos.national", Msg("Kabupaten/kota", "Districts"), PP.REPORTS_READ),
    ConsoleItem("kemensos.provinces", Msg("Provinsi", "Provinces"), PP.REPORTS_READ),
    ConsoleItem("kemensos.trend_page", Msg("Tren", "Trend"), PP.REPORTS_READ),
    ConsoleItem(
        "kemensos_districts.onboard_form",
        Msg("Tambah kabupaten/kota", "Onboard a district"),
        PP.TENANTS_MANAGE,
    ),
    ConsoleItem("kemensos_plans.plans", Msg("Paket", "Plans"), PP.REPORTS_READ),
    ConsoleItem(
        "kemensos_programs.catalog", Msg("Katalog program", "Program catalog"), PP.CATALOG_MANAGE
    ),
    ConsoleItem("kemensos_nik.signals", Msg("Sinyal NIK", "NIK signal"), PP.REPORTS_READ),
    ConsoleItem("kemensos_audit.events", Msg("Jejak audit", "Audit trail"), PP.TENANTS_MANAGE),
]


@dataclass(frozen=True)
class ConsoleEntry:
    url: str
    label: Msg
    current: bool


def kemensos_menu() -> list[ConsoleEntry]:
    """The console's menu for the signed-in account: only what its platform role opens."""
    principal = current_principal()
    blueprint = (request.endpoint or "").partition(".")[0]
    return [
        ConsoleEntry(
            url_for(item.endpoint),
            item.label,
            request.endpoint == item.endpoint
            or (item.endpoint.startswith(blueprint + ".") and blueprint != "kemensos"),
        )
        for item in KEMENSOS_MENU
        if principal.can(str(item.permission))
    ]


@bp.app_context_processor
def _console() -> dict[str, Any]:
    return {"kemensos_menu": kemensos_menu, "percent": percent, "number": number}


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{round(rate * 100)}%"


# --- words for the stored codes of the aggregates ---------------------------------------------

KINDS = {
    "service_request": Msg("Permohonan layanan", "Service request"),
    "complaint": Msg("Pengaduan", "Complaint"),
    "question": Msg("Pertanyaan", "Question"),
    "suggestion": Msg("Saran", "Suggestion"),
}
CHANNELS = {
    "secretariat": Msg("Sekretariat SLRT", "SLRT secretariat"),
    "puskesos": Msg("Puskesos", "Puskesos"),
    "outreach": Msg("Penjangkauan", "Outreach"),
    "phone_whatsapp": Msg("Telepon / WhatsApp", "Phone / WhatsApp"),
    "public_form": Msg("Formulir daring", "Online form"),
}
OUTCOME_WORDS = {
    "pending": Msg("Menunggu dikirim", "Waiting to be sent"),
    "in_progress": Msg("Dalam proses", "In progress"),
    "fulfilled": Msg("Dilayani", "Served"),
    "rejected": Msg("Ditolak", "Rejected"),
}
OUTCOME_COLOURS = {"pending": GREY, "in_progress": AMBER, "fulfilled": GREEN, "rejected": RED}
STATUS_WORDS = {
    "active": Msg("Aktif", "Active"),
    "suspended": Msg("Ditangguhkan", "Suspended"),
}


def words(table: dict[str, Msg], key: str) -> Msg:
    return table.get(key) or Msg(key, key)


# --- the national table (the landing page) ------------------------------------------------------

PAGE = 50
COLUMNS = [
    ("name", Msg("Kabupaten/kota", "District")),
    ("province", Msg("Provinsi", "Province")),
    ("wave", Msg("Lokus (tahap, tahun)", "Lokus (wave, year)")),
    ("status", Msg("Status", "Status")),
    ("staff", Msg("Staf aktif", "Active staff")),
    ("intakes", Msg("Kasus 30 hari", "Intakes, 30 days")),
    ("referrals", Msg("Rujukan", "Referrals")),
    ("on_time", Msg("Tepat waktu", "On time")),
    ("overdue", Msg("Terlambat", "Overdue")),
    ("activity", Msg("Terakhir aktif", "Last activity")),
]


def _visible_rows() -> list[DistrictRow]:
    stmt = visible_tenants(current_principal().visible_provinces()).order_by(Tenant.code)
    return district_rows(list(db.session.execute(stmt).scalars()))


def sort_url(key: str, filters: Filters) -> str:
    descending = filters.sort == key and not filters.descending
    args = {**filters.given, "sort": key, "dir": "desc" if descending else "asc"}
    return f"{request.path}?{urlencode(args)}"


@bp.get("/")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def national():
    rows = _visible_rows()
    filters = Filters.from_args(request.args)
    shown = filters.apply(rows)
    pages = max(1, -(-len(shown) // PAGE))
    number_ = min(requested_page(), pages)
    provinces = sorted({(r.tenant.province_code, r.tenant.province_name) for r in rows})
    waves = sorted({r.wave for r in rows if r.wave is not None})
    years = sorted({r.year for r in rows if r.year is not None})
    return render_template(
        "reports/kemensos_national.html",
        rows=shown[(number_ - 1) * PAGE : number_ * PAGE],
        total=national_totals(shown),
        count=len(shown),
        everything=len(rows),
        filters=filters,
        columns=[(key, label, sort_url(key, filters)) for key, label in COLUMNS],
        provinces=provinces,
        waves=waves,
        years=years,
        statuses=list(STATUS_WORDS.items()),
        status_words=STATUS_WORDS,
        page_number=number_,
        pages=pages,
        page_url=lambda n: f"{request.path}?{urlencode({**request.args.to_dict(), 'page': n})}",
        provincial=current_principal().visible_provinces() is not None,
    )


@bp.get("/provinces")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def provinces():
    rows = _visible_rows()
    return render_template(
        "reports/kemensos_provinces.html",
        provinces=province_summary(rows),
        total=national_totals(rows),
    )


# --- trends ---------------------------------------------------------------------------------

PERIODS = (30, 90, 365)


def _trend_args() -> tuple[int, str | None]:
    raw = request.args.get("days", "90")
    days = int(raw) if raw.isdigit() and int(raw) in PERIODS else 90
    province = request.args.get("province") or None
    if province is not None and not (len(province) == 2 and province.isdigit()):
        province = None
    return days, province


def _trend_points(days: int, province: str | None):
    rows = _visible_rows()
    ids = [r.tenant.id for r in rows if province is None or r.tenant.province_code == province]
    return trend(ids, days), rows


TREND_SERIES = (
    ("new_intakes", Msg("Kasus baru", "New intakes")),
    ("new_referrals", Msg("Rujukan baru", "New referrals")),
    ("overdue", Msg("Rujukan terlambat", "Overdue referrals")),
)


def _trend_svg(points, title: Msg) -> bytes:
    return line_chart(
        text_of(title),
        [p.day.strftime("%d-%m") for p in points],
        [(text_of(label), [getattr(p, key) for p in points]) for key, label in TREND_SERIES],
    )


@bp.get("/trend")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def trend_page():
    days, province = _trend_args()
    points, rows = _trend_points(days, province)
    provinces = sorted({(r.tenant.province_code, r.tenant.province_name) for r in rows})
    args = {"days": days, **({"province": province} if province else {})}
    return render_template(
        "reports/kemensos_trend.html",
        points=points,
        days=days,
        periods=PERIODS,
        province=province,
        provinces=provinces,
        series=TREND_SERIES,
        chart_url=url_for("kemensos.trend_svg", **args),
    )


@bp.get("/trend.svg")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def trend_svg():
    days, province = _trend_args()
    points, _ = _trend_points(days, province)
    return svg_response(_trend_svg(points, Msg("Tren nasional", "National trend")))


# --- one district's figures ------------------------------------------------------------------


def _district_figures(tenant_id: int) -> dict[str, Any] | None:
    rows = latest([tenant_id])
    return as_dict(rows[0]) if rows else None


@bp.get("/districts/<int:tenant_id>")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def district(tenant_id: int):
    from slrt.tenants.districts.platform_api import tenant_detail

    tenant = access_visible_tenant_by_id(tenant_id)
    detail = tenant_detail(tenant)
    [row] = district_rows([tenant])
    figures = _district_figures(tenant.id)
    points = trend([tenant.id], 90)
    return render_template(
        "reports/kemensos_district.html",
        tenant=tenant,
        detail=detail,
        designations=designations_of(tenant),
        row=row,
        figures=figures,
        points=points,
        series=TREND_SERIES,
        kinds=[(words(KINDS, k), v) for k, v in (figures or {}).get("intakes_by_kind", {}).items()],
        channels=[
            (words(CHANNELS, k), v)
            for k, v in (figures or {}).get("intakes_by_channel", {}).items()
        ],
        outcome_names=[words(OUTCOME_WORDS, k) for k in OUTCOMES],
        programs=(figures or {}).get("referrals_by_program", []),
        outcome_keys=OUTCOMES,
        status=words(STATUS_WORDS, tenant.status),
        can_manage=current_principal().can(str(PP.TENANTS_MANAGE)),
    )


@bp.get("/districts/<int:tenant_id>/trend.svg")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def district_trend_svg(tenant_id: int):
    tenant = access_visible_tenant_by_id(tenant_id)
    points = trend([tenant.id], 90)
    return svg_response(_trend_svg(points, Msg(f"Tren {tenant.name}", f"{tenant.name}: trend")))


@bp.get("/districts/<int:tenant_id>/programs.svg")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def district_programs_svg(tenant_id: int):
    tenant = access_visible_tenant_by_id(tenant_id)
    figures = _district_figures(tenant.id) or {}
    programs = figures.get("referrals_by_program", [])
    svg = stacked_bar_chart(
        text_of(Msg("Rujukan per program", "Referrals by program")),
        [p["program"] for p in programs],
        [(text_of(words(OUTCOME_WORDS, k)), [p.get(k, 0) for p in programs]) for k in OUTCOMES],
        colors=[OUTCOME_COLOURS[k] for k in OUTCOMES],
    )
    return svg_response(svg)
