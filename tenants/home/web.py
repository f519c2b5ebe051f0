"""The district home page (/t/<slug>/) and the menu every district page shows.

The menu lists only pages that exist, and of those only what the member's permissions open: a
menu item that leads nowhere, or to a refusal, is a defect. Each area that adds a page adds its
line to MENU (a test resolves every entry)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, render_template, request, url_for

from slrt.auth.memberships.models import Role
from slrt.auth.permissions import PLATFORM_ROLES, P
from slrt.auth.policy import current_principal
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.client import account_tenants
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.web import TenantPages
from slrt.tenants.notifications.access import unread_count

bp = TenantPages("home", __name__)


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: Msg
    permission: str | None = None  # None: every member of the district


MENU: list[MenuItem] = [
    MenuItem("home.home", Msg("Beranda", "Home")),
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
        if item.permission is None or principal.can(str(item.permission))
    ]


@bp.app_context_processor
def _menu() -> dict[str, object]:
    return {"district_menu": district_menu}


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
        unread=unread_count(account.id),
        is_admin=(role is not None and role.key == "district_admin")
        or "kemensos_admin" in platform_roles,
        can_members=principal.can(str(P.MEMBERS_READ)),
    )
