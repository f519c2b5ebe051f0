"""The district's own settings pages: /t/<slug>/settings, the district admin's entry to every
settings page it may open, and /t/<slug>/settings/profile: the letterhead referral letters print,
the codes in their numbers and the district's time zone. (Kemensos's pages about districts are
in `platform_web`.)

The profile is read with `tenant.read` and changed with `tenant.configure`, as in the API; the
form is parsed with the API's profile schema and written by the profile action.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import g, redirect, render_template, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.i18n import local_today
from slrt.platform.region_codes import ZONE_LABELS, province_zone
from slrt.platform.tenant import Tenant
from slrt.platform.web import (
    Form,
    TenantPages,
    edit_form,
    notice,
    submit_change,
)
from slrt.tenants.districts.actions import ZONES, update_profile
from slrt.tenants.districts.api import ProfileUpdateSchema
from slrt.tenants.districts.settings import LETTERHEAD_KEYS, letter_number, letterhead

bp = TenantPages("districts_web", __name__, "/settings")


@dataclass(frozen=True)
class SettingsPage:
    endpoint: str
    label: Msg
    about: Msg
    permission: P


SETTINGS_PAGES: list[SettingsPage] = [
    SettingsPage(
        "regions_web.village_list",
        Msg("Desa/kelurahan", "Villages"),
        Msg(
            "Sumber dana (intervensi Kemensos, APBD, Dana Desa), status dan Puskesos tiap desa.",
            "Funding (Kemensos intervention, APBD, Dana Desa), status and Puskesos of each village.",
        ),
        P.TENANT_READ,
    ),
    SettingsPage(
        "regions_web.kecamatan_list",
        Msg("Kecamatan", "Kecamatan"),
        Msg("Jumlah desa/kelurahan per kecamatan.", "Villages counted per kecamatan."),
        P.TENANT_READ,
    ),
    SettingsPage(
        "service_points_web.service_point_list",
        Msg("Sekretariat dan Puskesos", "Secretariat and Puskesos"),
        Msg("Alamat, SK dan petugas titik layanan.", "Addresses, decrees and staff."),
        P.TENANT_READ,
    ),
    SettingsPage(
        "agencies_web.agency_list",
        Msg("Perangkat daerah (OPD)", "Agencies (OPD)"),
        Msg("OPD penerima rujukan dan petugasnya.", "Agencies receiving referrals, officers."),
        P.TENANT_READ,
    ),
    SettingsPage(
        "programs_web.program_list",
        Msg("Program", "Programs"),
        Msg(
            "Katalog nasional, program daerah, aturan kelayakan dan batas waktu layanan.",
            "National catalog, local programs, eligibility rules and service deadlines.",
        ),
        P.PROGRAMS_READ,
    ),
    SettingsPage(
        "districts_web.profile",
        Msg("Kop surat, penomoran surat dan zona waktu", "Letterhead, letter numbers, time zone"),
        Msg(
            "Yang dicetak pada surat rujukan; zona hari dan bulan.",
            "What referral letters print; the zone of days and months.",
        ),
        P.TENANT_READ,
    ),
    SettingsPage(
        "billing_free_web.plan",
        Msg("Paket dan pemakaian", "Plan and usage"),
        Msg("Kuota, pemberitahuan dan laporan bulanan (Rp 0).", "Quotas, notices, statements."),
        P.USAGE_READ,
    ),
    SettingsPage(
        "dtsen_web.settings",
        Msg("DTSEN", "DTSEN"),
        Msg(
            "Kapan desil dianggap data lama; batas verifikasi usul/sanggah.",
            "When a desil is stale; the verification clock of proposals and objections.",
        ),
        P.TENANT_CONFIGURE,
    ),
    SettingsPage(
        "audit_web.audit_trail",
        Msg("Jejak audit", "Audit trail"),
        Msg("Siapa mengubah apa, dan kapan.", "Who changed what, and when."),
        P.AUDIT_READ,
    ),
]


@bp.get("")
@require(P.TENANT_CONFIGURE)
def settings():
    from slrt.tenants.agencies.web import people_url

    principal = current_principal()
    pages = [
        {"url": url_for(p.endpoint), "label": p.label, "about": p.about}
        for p in SETTINGS_PAGES
        if principal.can(str(p.permission))
    ]
    people = people_url() if principal.can(str(P.MEMBERS_READ)) else None
    return render_template("districts/settings.html", pages=pages, people_url=people)


# --- the letterhead and letter numbers ----------------------------------------------------------

FIELD_LABELS = {
    "government_name": Msg("Nama pemerintah daerah", "Government name"),
    "office_name": Msg("Nama dinas", "Office name"),
    "address": Msg("Alamat", "Address"),
    "phone": Msg("Telepon", "Phone"),
    "email": Msg("Email", "Email"),
    "website": Msg("Situs web", "Website"),
    "city": Msg("Tempat penandatanganan", "Place of signing"),
    "head_name": Msg("Nama kepala dinas", "Head of office"),
    "head_title": Msg("Jabatan", "Title"),
    "head_nip": Msg("NIP", "Civil servant number (NIP)"),
    "letter_code": Msg("Kode klasifikasi arsip", "Archive classification code"),
    "letter_unit": Msg("Kode unit", "Unit code"),
    "timezone": Msg("Zona waktu", "Time zone"),
}
PROFILE_FIELDS = (*LETTERHEAD_KEYS, "timezone")


def _zone_words(zone: str) -> Msg:
    return Msg(f"{ZONE_LABELS[zone]} ({zone})", f"{ZONE_LABELS[zone]} ({zone})")


def _zone_options(tenant: Tenant) -> list[tuple[str, Msg]]:
    """The zones to choose from; the empty choice follows the province."""
    own = province_zone(tenant.province_code)
    return [
        ("", Msg(f"Ikuti provinsi: {ZONE_LABELS[own]}", f"The province's: {ZONE_LABELS[own]}")),
        *((zone, _zone_words(zone)) for zone in ZONES),
    ]


def _plain(name: str, value: str) -> Msg:
    if name == "timezone":
        return _zone_words(value) if value in ZONES else Msg("—", "—")
    return Msg(value or "—", value or "—")


def _tenant() -> Tenant:
    return db.session.get(Tenant, g.tenant.id)


def _shown(tenant: Tenant) -> dict[str, str]:
    """The profile as its form shows it: the letterhead as printed and the zone chosen (empty
    while the district follows its province)."""
    shown = {k: "" if v is None else str(v) for k, v in letterhead(tenant).items()}
    shown["timezone"] = (tenant.settings or {}).get("timezone") or ""
    return shown


def _seen(tenant: Tenant) -> str:
    """The profile's version as read: a digest of what it says."""
    text = json.dumps(_shown(tenant), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _profile_body(edited: dict[str, Any]) -> dict[str, Any]:
    """The changed fields as the API's profile body: letterhead fields inside `letterhead`."""
    body: dict[str, Any] = {}
    head = {k: v for k, v in edited.items() if k in LETTERHEAD_KEYS}
    if head:
        body["letterhead"] = head
    if "timezone" in edited:
        body["timezone"] = edited["timezone"]
    return body


def _profile_page(
    form: Form | None = None,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
):
    tenant = _tenant()
    head = letterhead(tenant)
    return render_template(
        "districts/profile.html",
        tenant=tenant,
        head=head,
        example_number=letter_number(head, 1, local_today().year),
        form=form or edit_form(_shown(tenant), _seen(tenant)),
        conflict=conflict,
        keys=PROFILE_FIELDS,
        zones=_zone_options(tenant),
        zone_now=ZONE_LABELS[tenant.zone],
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
    ), status


@bp.get("/profile")
@require(P.TENANT_READ)
def profile():
    return _profile_page()


@bp.post("/profile")
@require(P.TENANT_CONFIGURE)
def change_profile():
    tenant = _tenant()

    def page(form: Form, status: int, conflict: list[dict[str, Any]] | None = None):
        # The API names the fields inside `letterhead`; the form names them plainly.
        form.errors = {k.removeprefix("letterhead."): v for k, v in form.errors.items()}
        return _profile_page(form, status, conflict)

    refused = submit_change(
        tenant,
        ProfileUpdateSchema(),
        PROFILE_FIELDS,
        stored=lambda: _shown(tenant),
        version=lambda: _seen(tenant),
        labels=FIELD_LABELS,
        words=_plain,
        save=lambda data: update_profile(tenant, data),
        page=page,
        body=_profile_body,
    )
    if refused is not None:
        return refused
    notice(Msg("Profil disimpan.", "Profile saved."))
    return redirect(url_for(".profile"))
