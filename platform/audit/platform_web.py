"""The Kemensos console's platform audit trail (/kemensos/audit): who did what across the
platform (onboarding, suspension, lokus designations, plans, the national catalog, accounts,
sign-ins), newest first, with filters by kind of action, district, who acted and when. The same
events as /api/v1/platform/audit-events; needs platform.tenants.manage.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import render_template, request

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import like_pattern
from slrt.platform.audit.api import event_filters
from slrt.platform.audit.models import PlatformAuditEvent
from slrt.platform.errors import Msg
from slrt.platform.region_codes import WIB
from slrt.platform.tenant import Tenant
from slrt.platform.web import PlatformPages, page_of

bp = PlatformPages("kemensos_audit", __name__, "/audit")

# What each recorded action means, in words (an action missing here shows as recorded).
ACTIONS: dict[str, Msg] = {
    "tenant.onboard": Msg("Kabupaten/kota ditambahkan", "District onboarded"),
    "tenant.suspend": Msg("Kabupaten/kota ditangguhkan", "District suspended"),
    "tenant.reactivate": Msg("Kabupaten/kota diaktifkan kembali", "District reactivated"),
    "tenant.lokus_designate": Msg("Penetapan lokus", "Lokus designation"),
    "tenant.plan.assign": Msg("Paket kabupaten/kota diganti", "District plan changed"),
    "plan.create": Msg("Paket dibuat", "Plan created"),
    "plan.update": Msg("Paket diubah", "Plan changed"),
    "national_program.create": Msg("Program nasional ditambahkan", "National program added"),
    "national_program.update": Msg("Program nasional diubah", "National program changed"),
    "account.sign_in": Msg("Masuk", "Signed in"),
    "account.password_change": Msg("Kata sandi diganti", "Password changed"),
    "account.password_reset": Msg("Kata sandi diatur ulang", "Password reset"),
    "account.password_reset_mail": Msg(
        "Tautan atur ulang kata sandi dikirim", "Password reset link mailed"
    ),
    "account.preferences": Msg("Pengaturan akun diubah", "Account settings changed"),
    "account.totp_enrol": Msg("Verifikasi dua langkah dipasang", "Two-step verification on"),
    "account.disable": Msg("Akun dinonaktifkan", "Account disabled"),
    "account.enable": Msg("Akun diaktifkan", "Account enabled"),
    "account.grant_kemensos_admin": Msg("Diberi peran Admin Kemensos", "Made Kemensos admin"),
    "account.federated_link": Msg("Akun SSO ditautkan", "Outside sign-in linked"),
    "account.federated_refused": Msg("Masuk SSO ditolak", "Outside sign-in refused"),
    "oauth_client.create": Msg("Aplikasi klien didaftarkan", "Client application registered"),
    "oauth_client.update": Msg("Aplikasi klien diubah", "Client application changed"),
    "oauth.code_reuse": Msg("Kode masuk dipakai ulang", "Sign-in code reused"),
    "oauth.refresh_reuse": Msg("Token dipakai ulang", "Refresh token reused"),
    "signing_key.rotate": Msg("Kunci tanda tangan diganti", "Signing key rotated"),
}


def action_words(action: str) -> Msg:
    return ACTIONS.get(action) or Msg(action, action)


def _day(raw: str | None, *, end: bool = False) -> dt.datetime | None:
    """A yyyy-mm-dd from the filter form as the start (or the end) of that day in WIB."""
    try:
        day = dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(WIB))
    return start + dt.timedelta(days=1) if end else start


@bp.get("")
@require(PP.TENANTS_MANAGE)
def events():
    args = request.args
    query: dict = {
        "action": args.get("action") or None,
        "since": _day(args.get("since")),
        "until": _day(args.get("until"), end=True),
    }
    tenants = db.session.execute(
        sa.select(Tenant.id, Tenant.code, Tenant.name).order_by(Tenant.code)
    ).all()
    district = args.get("district")
    if district and district.isdigit():
        query["tenant_ref"] = int(district)
    stmt = sa.select(PlatformAuditEvent).where(
        *event_filters(PlatformAuditEvent, query, ("action", "tenant_ref"))
    )
    who = (args.get("who") or "").strip()
    if who:
        stmt = stmt.where(PlatformAuditEvent.actor_label.ilike(like_pattern(who)))
    page = page_of(stmt, PlatformAuditEvent.id.desc())
    names = {t.id: f"{t.name} ({t.code})" for t in tenants}
    return render_template(
        "audit/kemensos_audit.html",
        page=page,
        actions=sorted(ACTIONS.items(), key=lambda item: str(item[1])),
        action_words=action_words,
        tenants=tenants,
        names=names,
        args=args,
    )
