"""The district home page (/t/<slug>/): who the signed-in member is here, their role and region,
and the sections their permissions open."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, g, redirect, render_template

from slrt.auth.memberships.models import Role
from slrt.auth.permissions import PLATFORM_ROLES, P
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.client import account_tenants, enter_web_tenant
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.web import no_store
from slrt.tenants.notifications.access import unread_count

bp = no_store(Blueprint("home", __name__, template_folder="templates"))

# What a role's permissions open on the district page (permission, Indonesian, English).
SECTIONS: list[tuple[str, Msg]] = [
    (P.REGISTRY_READ, Msg("Registri warga", "Resident registry")),
    (P.CASES_READ, Msg("Layanan dan kasus", "Services and cases")),
    (P.REFERRALS_READ, Msg("Rujukan", "Referrals")),
    (P.PROPOSALS_MANAGE, Msg("Usulan DTKS", "DTKS proposals")),
    (P.REPORTS_READ, Msg("Laporan", "Reports")),
    (P.PROGRAMS_READ, Msg("Katalog program", "Program catalog")),
    (P.MEMBERS_READ, Msg("Pengguna dan peran", "Users and roles")),
    (P.TENANT_CONFIGURE, Msg("Pengaturan kabupaten/kota", "District settings")),
    (P.AUDIT_READ, Msg("Jejak audit", "Audit trail")),
]


@bp.get("/t/<slug>/")
def dashboard(slug: str):
    entered = enter_web_tenant(slug)
    if entered is None:
        return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
    account, principal = entered
    role = None
    if principal.membership is not None:
        role = db.session.get(Role, (principal.membership.tenant_id, principal.membership.role_id))
    platform_roles = [PLATFORM_ROLES[r]["name"] for r, _ in principal.platform_roles]
    sections = [(p, name) for p, name in SECTIONS if principal.can(str(p))]
    return render_template(
        "home/dashboard.html",
        account=account,
        tenant=g.tenant,
        role=role,
        platform_roles=platform_roles,
        scope_kind=principal.scope_kind,
        scope_names=describe_scope(principal.scope_kind, principal.scope_codes),
        sections=sections,
        can_members=principal.can(str(P.MEMBERS_READ)),
        several=len(account_tenants(account.id)) > 1,
        unread=unread_count(account.id),
        is_admin=(role is not None and role.key == "district_admin")
        or "kemensos_admin" in platform_roles,
    )
