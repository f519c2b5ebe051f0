"""DTSEN pages of families and villages (/t/<slug>/dtsen/...): the DTSEN start page (villages of
the member's region, the latest imports and open usul/sanggah), a family's official desil
history by quarter, and a village's reconciliation for its meeting (one list at a time, and the
whole as a spreadsheet).

The reads are `dtsen.standing` and `dtsen.reconcile` (the API's own), audited as the API audits
them; the spreadsheet is the `export_reconciliation` action.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa
from flask import g, redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenant import Tenant
from slrt.platform.web import (
    Form,
    Page,
    TenantPages,
    edit_form,
    notice,
    parse_form,
    requested_page,
    submit_change,
)
from slrt.tenants.dtsen import actions
from slrt.tenants.dtsen.access import access_village_in_region, submission_scope
from slrt.tenants.dtsen.api import ExportQuerySchema, SettingsSchema, file_response
from slrt.tenants.dtsen.imports import RULE_LABELS
from slrt.tenants.dtsen.models import Submission
from slrt.tenants.dtsen.reconcile import SECTIONS, reconcile
from slrt.tenants.dtsen.settings import dtsen_settings
from slrt.tenants.dtsen.standing import SOURCE_LABELS, describe, history, standing_of
from slrt.tenants.regions.access import villages_in_scope
from slrt.tenants.registry.access import access_household_by_id

bp = TenantPages(
    "dtsen_web",
    __name__,
    "/dtsen",
    lookups={"household_id": access_household_by_id, "village_id": access_village_in_region},
)

LIST_SIZE = 25


def _can(permission: Any) -> bool:
    return current_principal().can(str(permission))


SETTING_FIELDS = ("stale_quarters", "verification_days")
SETTING_LABELS: dict[str, Msg] = {
    "stale_quarters": Msg("Batas data lama (triwulan)", "Stale after (quarters)"),
    "verification_days": Msg("Batas verifikasi usul/sanggah (hari)", "Verification clock (days)"),
}


@bp.get("/")
@require(P.REGISTRY_READ)
def index():
    """Where DTSEN work starts: each village's reconciliation, the imports, the usul/sanggah."""
    villages = list(db.session.execute(villages_in_scope(current_principal())).scalars())
    open_items = db.session.execute(
        submission_scope(
            sa.select(sa.func.count()).where(Submission.status.in_(("received", "verified")))
        )
    ).scalar()
    return render_template(
        "dtsen/index.html",
        villages=villages,
        open_items=open_items,
        can_import=_can(P.IMPORTS_RUN),
        can_settings=_can(P.TENANT_READ),
    )


# --- the district's DTSEN settings --------------------------------------------------------------


def _district() -> Tenant:
    return db.session.get(Tenant, g.tenant.id)


def _stored() -> dict[str, str]:
    return {k: str(v) for k, v in dtsen_settings(_district()).items() if k in SETTING_FIELDS}


def _seen() -> str:
    """The settings' version as read: a digest of what they say."""
    return hashlib.sha256(json.dumps(_stored(), sort_keys=True).encode()).hexdigest()[:16]


def _settings_page(
    form: Form | None = None, status: int = 200, conflict: list[dict[str, Any]] | None = None
):
    return render_template(
        "dtsen/settings.html",
        form=form or edit_form(_stored(), _seen()),
        conflict=conflict,
        labels=SETTING_LABELS,
        can_configure=_can(P.TENANT_CONFIGURE),
    ), status


@bp.get("/settings")
@require(P.TENANT_READ)
def settings():
    """When the latest DTSEN record counts as stale, and the usul/sanggah verification clock."""
    return _settings_page()


@bp.post("/settings")
@require(P.TENANT_CONFIGURE)
def change_settings():
    refused = submit_change(
        _district(),
        SettingsSchema(),
        SETTING_FIELDS,
        stored=_stored,
        version=_seen,
        labels=SETTING_LABELS,
        words=lambda name, value: Msg(value or "-", value or "-"),
        save=actions.update_settings,
        page=_settings_page,
    )
    if refused is not None:
        return refused
    notice(Msg("Pengaturan DTSEN disimpan.", "DTSEN settings saved."))
    return redirect(url_for(".settings"))


# --- a family's history -------------------------------------------------------------------------


@bp.get("/households/<uuid:household_id>")
@require(P.REGISTRY_READ)
def household_history(household_id: uuid.UUID):
    """The family's official DTSEN standing per quarter, newest first, with where each came
    from; the current one (the latest) flagged when stale."""
    household = access_household_by_id(household_id)
    records = history(household)
    actions.record_reads("household", "dtsen.history.read", [household.id])
    return render_template(
        "dtsen/history.html",
        household=household,
        standing=standing_of(household),
        records=records,
        sources=SOURCE_LABELS,
        rules=RULE_LABELS,
    )


# --- a village's reconciliation -----------------------------------------------------------------


def _one_page(rows: list[dict[str, Any]]) -> Page:
    number = requested_page()
    start = (number - 1) * LIST_SIZE
    return Page(rows[start : start + LIST_SIZE], number, LIST_SIZE, len(rows))


@bp.get("/villages/<uuid:village_id>")
@require(P.REGISTRY_READ)
def reconciliation(village_id: uuid.UUID):
    """The village's reconciliation for a quarter (its latest by default), one list at a time."""
    village = access_village_in_region(village_id)
    period = request.args.get("period") or None
    result = reconcile(village, period)
    chosen = request.args.get("list", "")
    if chosen not in SECTIONS:
        chosen = next((k for k in SECTIONS if result.count(k)), "not_in_registry")
    page = _one_page(result.lists.get(chosen, []))
    if chosen == "submissions":  # the state in the page's language
        page.items = [{**r, "state": Msg(r["status"], r["status_en"])} for r in page.items]
    actions.record_reads("village", "dtsen.reconciliation.read", [village.id])
    return render_template(
        "dtsen/reconciliation.html",
        village=village,
        result=result,
        sections=[(s, result.count(k)) for k, s in SECTIONS.items()],
        section=SECTIONS[chosen],
        chosen=chosen,
        page=page,
        can_export=_can(P.EXPORTS_RUN),
    )


@bp.post("/villages/<uuid:village_id>/export")
@require(P.EXPORTS_RUN)
def export(village_id: uuid.UUID):
    """The reconciliation as a spreadsheet for the village meeting (audited as an export)."""
    village = access_village_in_region(village_id)
    values = {
        key: request.form[key].strip()
        for key in ("period", "format")
        if request.form.get(key, "").strip()
    }
    data, _ = parse_form(ExportQuerySchema(), values)
    if data is None:
        data = {"format": "xlsx"}  # a damaged choice falls back to the village's latest, XLSX
    return file_response(actions.export_reconciliation(village, data.get("period"), data["format"]))


SECTION_COLUMNS: dict[str, list[tuple[str, Msg]]] = {
    "not_in_registry": [
        ("no_kk", Msg("Nomor KK", "KK number")),
        ("nik_kepala", Msg("NIK kepala keluarga", "Head's NIK")),
        ("nama_kepala", Msg("Kepala keluarga", "Head of household")),
        ("desil", Msg("Desil", "Desil")),
    ],
    "not_in_dtsen": [
        ("no_kk", Msg("Nomor KK", "KK number")),
        ("nik_kepala", Msg("NIK kepala keluarga", "Head's NIK")),
        ("nama_kepala", Msg("Kepala keluarga", "Head of household")),
        ("alamat", Msg("Alamat", "Address")),
    ],
    "desil_changed": [
        ("no_kk", Msg("Nomor KK", "KK number")),
        ("nama_kepala", Msg("Kepala keluarga", "Head of household")),
        ("desil_sebelumnya", Msg("Desil sebelumnya", "Desil before")),
        ("desil_sekarang", Msg("Desil sekarang", "Desil now")),
    ],
    "unknown_members": [
        ("nik", Msg("NIK", "NIK")),
        ("nama", Msg("Nama", "Name")),
        ("no_kk", Msg("Nomor KK", "KK number")),
        ("hubungan", Msg("Hubungan", "Relation")),
    ],
    "submissions": [
        ("jenis", Msg("Jenis", "Kind")),
        ("nama", Msg("Nama", "Name")),
        ("nik", Msg("NIK", "NIK")),
        ("batas_verifikasi", Msg("Batas verifikasi", "Verify by")),
    ],
}


@bp.app_template_global("dtsen_standing")
def _standing(household: Any) -> Msg | None:
    """The family's official DTSEN standing in words, with its period (and stale or not), for
    any page that shows a household (the case page among them)."""
    return describe(household)


@bp.context_processor
def _columns() -> dict[str, Any]:
    return {"section_columns": SECTION_COLUMNS}
