"""The Kemensos console's district pages: onboarding a district by its Kemendagri code
(/kemensos/districts/new), and managing one (/kemensos/districts/<id>/manage): its lokus
designations per wave with the decree, suspending and reactivating it with a reason. Every write
is the districts action the API and `slrt tenants ...` call; the forms are read with the API's
schemas. The district's figures are the reports pages' (`kemensos.district`).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenant import Tenant, TenantStatus
from slrt.platform.web import (
    Form,
    PlatformPages,
    form_values,
    notice,
    parse_form,
    problem_form,
)
from slrt.tenants.districts.access import access_visible_tenant_by_id, designations_of
from slrt.tenants.districts.actions import designate, onboard_tenant, set_tenant_status
from slrt.tenants.districts.api import LokusDesignationSchema
from slrt.tenants.districts.platform_api import OnboardSchema, StatusChangeSchema, tenant_detail

bp = PlatformPages(
    "kemensos_districts", __name__, "/districts", lookups={"tenant_id": access_visible_tenant_by_id}
)


# --- onboarding --------------------------------------------------------------------------------


def _onboard_page(form: Form | None = None, status: int = 200):
    return render_template("districts/kemensos_onboard.html", form=form), status


@bp.get("/new")
@require(PP.TENANTS_MANAGE)
def onboard_form():
    return _onboard_page()


@bp.post("/new")
@require(PP.TENANTS_MANAGE)
def onboard():
    data, form = parse_form(OnboardSchema())
    if data is None:
        return _onboard_page(form, 422)
    try:
        tenant, created = onboard_tenant(data["code"])
    except Problem as exc:
        return _onboard_page(problem_form(exc, form.values), exc.code)
    if created:
        notice(
            Msg(
                f"{tenant.name} ({tenant.code}) ditambahkan dengan semua kecamatan dan "
                "desa/kelurahannya.",
                f"{tenant.name} ({tenant.code}) was onboarded with all its kecamatan and villages.",
            )
        )
    else:
        notice(
            Msg(
                f"{tenant.name} ({tenant.code}) sudah terdaftar; tidak ada yang diubah.",
                f"{tenant.name} ({tenant.code}) was already onboarded; nothing changed.",
            )
        )
    return redirect(url_for("kemensos_districts.manage", tenant_id=tenant.id))


# --- one district: lokus designations, suspension ---------------------------------------------


def _manage_page(
    tenant: Tenant,
    *,
    lokus_form: Form | None = None,
    status_form: Form | None = None,
    code: int = 200,
) -> Any:
    return render_template(
        "districts/kemensos_manage.html",
        tenant=tenant,
        detail=tenant_detail(tenant),
        designations=designations_of(tenant),
        lokus_form=lokus_form,
        status_form=status_form,
        suspended=tenant.status == TenantStatus.suspended,
    ), code


@bp.get("/<int:tenant_id>/manage")
@require(PP.TENANTS_MANAGE)
def manage(tenant_id: int):
    return _manage_page(access_visible_tenant_by_id(tenant_id))


@bp.post("/<int:tenant_id>/lokus")
@require(PP.TENANTS_MANAGE)
def add_designation(tenant_id: int):
    tenant = access_visible_tenant_by_id(tenant_id)
    data, form = parse_form(LokusDesignationSchema())
    if data is None:
        return _manage_page(tenant, lokus_form=form, code=422)
    try:
        designation = designate(tenant, data)
    except Problem as exc:
        return _manage_page(tenant, lokus_form=problem_form(exc, form.values), code=exc.code)
    notice(
        Msg(
            f"{tenant.name} ditetapkan sebagai lokus tahap {designation.wave} tahun "
            f"{designation.year}.",
            f"{tenant.name} was designated lokus in wave {designation.wave} of {designation.year}.",
        )
    )
    return redirect(url_for("kemensos_districts.manage", tenant_id=tenant.id))


@bp.post("/<int:tenant_id>/status")
@require(PP.TENANTS_MANAGE)
def change_status(tenant_id: int):
    tenant = access_visible_tenant_by_id(tenant_id)
    values = form_values()
    # The form names the status it asks for: a second tab's stale click is refused (409), it
    # does not undo the first.
    wanted = values.pop("to", None)
    data, form = parse_form(StatusChangeSchema(), values)
    if data is None or wanted not in (TenantStatus.active, TenantStatus.suspended):
        return _manage_page(tenant, status_form=form, code=422)
    target = TenantStatus(wanted)
    try:
        set_tenant_status(tenant, target, data["reason"])
    except Problem as exc:
        return _manage_page(tenant, status_form=problem_form(exc, form.values), code=exc.code)
    if target == TenantStatus.suspended:
        notice(
            Msg(
                f"{tenant.name} ditangguhkan: penggunanya hanya dapat membaca.",
                f"{tenant.name} is suspended: its users may only read.",
            )
        )
    else:
        notice(Msg(f"{tenant.name} aktif kembali.", f"{tenant.name} is active again."))
    return redirect(url_for("kemensos_districts.manage", tenant_id=tenant.id))
