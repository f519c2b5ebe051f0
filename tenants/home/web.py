"""The district home page (/t/<slug>/) and the menu every district page shows.

The menu lists only pages that exist, and of those only what the member's permissions open: a
menu item that leads nowhere, or to a refusal, is a defect. Each area that adds a page adds its
line to MENU (a test resolves every entry).

The home shows the work waiting for this member, as counts that open the lists they count (the
same query, so the same region and agency scope), chosen by the member's permissions and scope
rather than by role names (districts define their own roles), and the newest unread
notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g, render_template, request, url_for

from slrt.auth.memberships.models import Role
from slrt.auth.permissions import PLATFORM_ROLES, P
from slrt.auth.policy import Principal, current_principal
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.client import account_tenants
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.i18n import current_zone, local_today
from slrt.platform.web import TenantPages
from slrt.tenants.flow.access import case_scope
from slrt.tenants.flow.models import Case
from slrt.tenants.flow.web import referrals
from slrt.tenants.notifications.access import unread_count
from slrt.tenants.notifications.web import latest_unread

bp = TenantPages("home", __name__)


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: Msg
    # The permission the page's view requires (a test holds them equal): None when it needs
    # none beyond membership of the district.
    permission: str | None = None
    also: str | None = None  # a second permission the page requires (the field app)


MENU: list[MenuItem] = [
    MenuItem("home.home", Msg("Beranda", "Home")),
    MenuItem("cases_web.case_list", Msg("Layanan", "Cases"), P.CASES_READ),
    MenuItem("cases_web.intake", Msg("Daftarkan layanan", "Register a visit"), P.CASES_REGISTER),
    MenuItem(
        "field_web.app_shell",
        Msg("Aplikasi lapangan", "Field app"),
        P.CASES_REGISTER,
        also=P.REGISTRY_WRITE,
    ),
    MenuItem("registry_web.search", Msg("Registrasi", "Registry"), P.REGISTRY_READ),
    MenuItem("proposals_web.index", Msg("Usulan DTSEN", "DTSEN proposals"), P.REGISTRY_READ),
    MenuItem("dtsen_web.index", Msg("DTSEN", "DTSEN"), P.REGISTRY_READ),
    MenuItem(
        "dtsen_submissions_web.index",
        Msg("Usul/sanggah", "Proposals and objections"),
        P.REGISTRY_READ,
    ),
    MenuItem("dtsen_imports_web.index", Msg("Impor DTSEN", "DTSEN imports"), P.IMPORTS_RUN),
    MenuItem("referrals_web.inbox", Msg("Rujukan masuk", "Referrals in"), P.REFERRALS_RESPOND),
    MenuItem("referrals_web.followups", Msg("Tindak lanjut", "Follow-up"), P.CASES_FOLLOW_UP),
    MenuItem("notifications_web.notifications", Msg("Notifikasi", "Notifications"), P.TENANT_READ),
    MenuItem("reports_web.dashboard", Msg("Dasbor", "Dashboard"), P.REPORTS_READ),
    MenuItem("jobs_web.job_list", Msg("Impor dan ekspor", "Import and export"), P.JOBS_READ),
    MenuItem("districts_web.settings", Msg("Pengaturan", "Settings"), P.TENANT_CONFIGURE),
    MenuItem("people.people", Msg("Pengguna", "People"), P.MEMBERS_READ),
]


@dataclass(frozen=True)
class MenuEntry:
    url: str
    label: Msg
    current: bool


def district_menu() -> list[MenuEntry]:
    """The menu of the signed-in member in the current district."""
    principal = g.get("principal")
    if principal is None or g.get("tenant") is None:
        return []
    return [
        MenuEntry(url_for(item.endpoint), item.label, request.endpoint == item.endpoint)
        for item in MENU
        if (item.permission is None or principal.can(str(item.permission)))
        and (item.also is None or principal.can(str(item.also)))
    ]


@bp.app_context_processor
def _menu() -> dict[str, object]:
    return {"district_menu": district_menu}


# --- the work waiting ------------------------------------------------------------------------

CASES_LIST = "cases_web.case_list"  # the case list page, filtered by its query string


@dataclass(frozen=True)
class Tile:
    key: str
    label: Msg
    count: int
    url: str
    alert: bool = False  # shown in red while above zero


def cases_count(*, status: str | None = None, created_today: bool = False) -> int:
    """Cases of the member's region the case list shows for `status=` / `created=today`."""
    stmt = case_scope(sa.select(Case))
    if status:
        stmt = stmt.where(Case.status == status)
    if created_today:
        start = dt.datetime.combine(local_today(), dt.time(), tzinfo=ZoneInfo(current_zone()))
        stmt = stmt.where(Case.created_at >= start, Case.created_at < start + dt.timedelta(days=1))
    return referrals.count(stmt)


OVERDUE_HERE = {
    "village": Msg("Rujukan terlambat di desa/kelurahan saya", "Overdue referrals in my villages"),
    "kecamatan": Msg("Rujukan terlambat di kecamatan saya", "Overdue referrals in my kecamatan"),
    "district": Msg("Rujukan terlambat di kabupaten/kota", "Overdue referrals in the district"),
}


def work_tiles(principal: Principal) -> list[Tile]:
    """The counters of the work waiting for this member, each linking to its filtered list."""
    tiles: list[Tile] = []

    def add(key: str, label: Msg, counter: Callable[[], int], endpoint: str, **args) -> None:
        # A list page that is not part of this build yet gets no tile (HOME_ENDPOINTS is
        # checked by a test, so a missing page does not go unnoticed).
        if endpoint in current_app.view_functions:
            alert = key.startswith("overdue")
            tiles.append(Tile(key, label, counter(), url_for(endpoint, **args), alert))

    can = principal.can
    if can(P.CASES_REGISTER):
        add("visits-today", Msg("Kunjungan hari ini", "Visits today"),
            lambda: cases_count(created_today=True), CASES_LIST, created="today")  # fmt: skip
    if can(P.CASES_ASSESS):
        add("to-assess", Msg("Menunggu asesmen", "To assess"),
            lambda: cases_count(status="registered"), CASES_LIST, status="registered")  # fmt: skip
        add("returned", Msg("Dikembalikan untuk diperbaiki", "Returned for correction"),
            lambda: cases_count(status="returned"), CASES_LIST, status="returned")  # fmt: skip
    if can(P.CASES_DECIDE):
        add("to-decide", Msg("Menunggu keputusan", "To decide"),
            lambda: cases_count(status="assessed"), CASES_LIST, status="assessed")  # fmt: skip
    if can(P.REFERRALS_RESPOND):
        inbox = "referrals_web.inbox"
        add("new-referrals", Msg("Rujukan baru", "New referrals"),
            lambda: referrals.inbox_count("new"), inbox, show="new")  # fmt: skip
        add("due-this-week", Msg("Tenggat minggu ini", "Due this week"),
            lambda: referrals.inbox_count("due"), inbox, show="due")  # fmt: skip
        add("overdue-referrals", Msg("Rujukan terlambat", "Overdue referrals"),
            lambda: referrals.inbox_count("overdue"), inbox, show="overdue")  # fmt: skip
    if can(P.CASES_FOLLOW_UP):
        add("follow-up", Msg("Kasus untuk ditindaklanjuti", "Cases to follow up"),
            referrals.followup_count, "referrals_web.followups")  # fmt: skip
    if can(P.REFERRALS_READ) and not can(P.REFERRALS_RESPOND):
        # An agency's officers count their overdue referrals in the inbox tiles above.
        add("overdue-region", OVERDUE_HERE.get(principal.scope_kind, OVERDUE_HERE["district"]),
            referrals.overdue_count, "referrals_web.overdue")  # fmt: skip
    return tiles


# Every page a tile may open (a test checks that each exists).
HOME_ENDPOINTS = (
    CASES_LIST,
    "referrals_web.inbox",
    "referrals_web.followups",
    "referrals_web.overdue",
    "notifications_web.notifications",
)


@bp.get("/")
def home():
    principal = current_principal()
    account = g.web_account
    role = None
    if principal.membership is not None:
        role = db.session.get(Role, (principal.membership.tenant_id, principal.membership.role_id))
    platform_roles = [PLATFORM_ROLES[r]["name"] for r, _ in principal.platform_roles]
    return render_template(
        "home/home.html",
        account=account,
        role=role,
        platform_roles=platform_roles,
        scope_kind=principal.scope_kind,
        scope_names=describe_scope(principal.scope_kind, principal.scope_codes),
        several=len(account_tenants(account.id)) > 1,
        tiles=work_tiles(principal),
        unread=unread_count(account.id),
        latest=latest_unread(),
        is_admin=(role is not None and role.key == "district_admin")
        or "kemensos_admin" in platform_roles,
        can_members=principal.can(str(P.MEMBERS_READ)),
    )
